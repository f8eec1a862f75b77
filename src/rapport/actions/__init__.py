"""The action loop: playbooks, holdouts and their effect, tasks, alerts, outbox, scheduler."""
