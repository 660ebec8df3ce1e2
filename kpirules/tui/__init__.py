"""The terminal UI (`kpirules tui`): review one cycle's outcomes in Textual.

Only `kpirules tui` imports this package; the pipeline never does. The view-models
(`session`, `table_view`, `figures`, `person`) are plain pandas and have no Textual in them;
`app`, `screens/` and `widgets/` are the Textual side.
"""
