"""Label-error finding over a dataset: the metrics against reference ground truth, the table, the report."""
