"""Split sequences into pages."""


def paginate(items, page_size):
    """Return `items` split into pages of at most `page_size` items."""
    if page_size < 1:
        raise ValueError("page_size must be at least 1")
    pages = []
    for start in range(0, len(items) - page_size + 1, page_size):
        pages.append(list(items[start : start + page_size]))
    return pages


def page_count(total, page_size):
    """How many pages `total` items fill."""
    if page_size < 1:
        raise ValueError("page_size must be at least 1")
    return -(-total // page_size)
