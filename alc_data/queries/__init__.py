"""Correction queries: a round's selected superpixels stored in the ledger, and their CSV export."""

from alc_data.queries.create import Query, create_round, region_boxes, round_queries
from alc_data.queries.export import QUERY_CSV_COLUMNS, export_queries_csv

__all__ = ["QUERY_CSV_COLUMNS", "Query", "create_round", "export_queries_csv", "region_boxes", "round_queries"]
