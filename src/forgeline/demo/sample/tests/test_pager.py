import unittest

from pagekit.pager import page_count, paginate


class PaginateTest(unittest.TestCase):
    def test_exact_pages(self):
        self.assertEqual(paginate([1, 2, 3, 4], 2), [[1, 2], [3, 4]])

    def test_empty(self):
        self.assertEqual(paginate([], 3), [])

    def test_bad_size(self):
        with self.assertRaises(ValueError):
            paginate([1], 0)


class PageCountTest(unittest.TestCase):
    def test_rounds_up(self):
        self.assertEqual(page_count(5, 2), 3)


if __name__ == "__main__":
    unittest.main()
