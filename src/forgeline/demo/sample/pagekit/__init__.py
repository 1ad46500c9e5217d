"""pagekit: split sequences into pages."""

from pagekit.pager import page_count, paginate

__all__ = ["page_count", "paginate"]
