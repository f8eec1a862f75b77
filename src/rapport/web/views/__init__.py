"""The workspace's pages besides the customers page (:mod:`rapport.web.pages`): one module
per page, each with a FastAPI ``router`` and its menu entry ``NAV``
(:class:`rapport.web.nav.NavEntry`). :func:`rapport.web.nav.page_modules` finds them, and
:func:`rapport.web.app.install_web` serves them; a page's own texts are a module of
:mod:`rapport.web.texts`, its templates under ``web/templates``.
"""
