"""The web workspace 客情工作台: server-rendered pages (Jinja2, HTMX, vendored ECharts) at
``/``, beside the API under ``/api/v1``, with a session log-in, CSRF protection and zh-CN /
en. See ``docs/web.md``; :func:`rapport.web.app.install_web` joins it to the server."""
