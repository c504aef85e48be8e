"""The HTML run report, ``reports/<run-id>/index.html``: one self-contained file.

:mod:`.page` builds the page (:class:`~.page.ReportData` in, :func:`~.page.render_report` out)
and its sections; :mod:`.svg` draws the plots, :mod:`.comparison` the prompt-or-fine-tune
table and its reading, :mod:`.cases` the flipped and failing cases, :mod:`.text` escapes,
clips and diffs texts; ``assets/`` holds the CSS and JS the page inlines. Nothing is imported
here, so importing a sibling of this package costs nothing extra.
"""
