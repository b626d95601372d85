"""Read complaint files (CSV, JSON, JSON lines, .xlsx; any export through a mapping) into
validated records.

``read_file`` yields ``(row, ComplaintIn | ImportRowError)`` so that a bad row is reported with
its number and reason while the good rows go on. Rows count the header as row 1, as a
spreadsheet shows them. Modules: ``sources`` (bytes to records: kinds, encodings, CSV, limits;
``workbooks`` and ``jsonfiles`` for the others),
``dates`` (a date column read one way for the whole file), ``mapping`` (mapping files,
compiled against a header), ``reading`` (the file's records as complaints). The formats,
columns, mapping language and limits are described in docs/importing.md.
"""

from complaints.importers.dates import DateOptions
from complaints.importers.ids import CONTENT_ID_PREFIX, content_id
from complaints.importers.jsonfiles import MAX_JSON_BYTES, MAX_JSON_DEPTH
from complaints.importers.mapping import Mapping, load_mapping, parse_mapping, shipped_mappings
from complaints.importers.reading import (
    FORMATS,
    Format,
    ImportedRows,
    ImportOptions,
    Rows,
    count_records,
    parse_cfpb_date,
    read_file,
)
from complaints.importers.sources import MAX_CELL_CHARS

__all__ = [
    "CONTENT_ID_PREFIX", "FORMATS", "MAX_CELL_CHARS", "MAX_JSON_BYTES", "MAX_JSON_DEPTH", "DateOptions", "Format",
    "ImportOptions", "ImportedRows", "Mapping", "Rows", "content_id", "count_records", "load_mapping",
    "parse_cfpb_date", "parse_mapping", "read_file", "shipped_mappings",
]
