"""The seller console's files, served by ``linkstar.api.console``: ``index.html`` (the one page),
``assets/`` (ES modules and CSS, no build step), ``i18n/`` (one JSON dictionary per locale: every
visible string comes from there by key) and ``vendor/`` (pinned third-party code, see its README).
Not Python code: a package only so the files ship inside the core layer beside the API."""
