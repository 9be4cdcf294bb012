from clipdesk.wording import plural


def test_counts_read_as_a_person_would_write_them():
    assert plural(1, "photo") == "1 photo"
    assert plural(0, "photo") == "0 photos"
    assert plural(12345, "photo") == "12,345 photos"
    assert (plural(1, "copy"), plural(3, "copy")) == ("1 copy", "3 copies")
