"""How the pages show their figures — table rows and ECharts options in the reader's
language — apart from the routes that read them: one module per page."""
