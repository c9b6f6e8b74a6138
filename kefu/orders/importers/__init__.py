"""Order export readers (CSV/XLSX/XLS/JSONL) and column mappings; `importers.run.import_orders`
drives them."""
