"""Order export readers (CSV/XLSX/XLS/JSONL) and column mappings; `services.import_orders`
drives them."""
