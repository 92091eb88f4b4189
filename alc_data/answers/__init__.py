"""Answers to correction queries: from a CSV filled by people, or from ground truth (simulation)."""

from alc_data.answers.csv_answers import read_answers_csv
from alc_data.answers.oracle import ORACLE_MODES, oracle_answers
from alc_data.answers.record import Answer, record_answers

__all__ = ["ORACLE_MODES", "Answer", "oracle_answers", "read_answers_csv", "record_answers"]
