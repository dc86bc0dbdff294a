from pycodesmall.lsp_server.suggestion_cache import SuggestionCache


def test_typing_through_a_suggestion_returns_its_rest():
    cache = SuggestionCache()
    cache.put("doc", "x = ", "\nprint(x)", ["compute(1)", "count + 1", "y"])
    assert cache.get("doc", "x = ", "\nprint(x)") == ["compute(1)", "count + 1", "y"]
    assert cache.get("doc", "x = co", "\nprint(x)") == ["mpute(1)", "unt + 1"]
    assert cache.get("doc", "x = comp", "\nprint(x)") == ["ute(1)"]


def test_no_answer_when_the_context_differs_or_the_suggestion_is_used_up():
    cache = SuggestionCache()
    cache.put("doc", "x = ", "", ["compute(1)"])
    assert cache.get("doc", "x = d", "") is None  # typed something else
    assert cache.get("doc", "x = compute(1)", "") is None  # nothing left to suggest
    assert cache.get("doc", "x = co", "# changed") is None
    assert cache.get("other", "x = co", "") is None
    assert cache.get("doc", "y = co", "") is None
    assert cache.get("doc", "x", "") is None  # deleted back past the suggestion's start


def test_the_cache_is_bounded():
    cache = SuggestionCache(size=2)
    for i in range(3):
        cache.put("doc", f"v{i} = ", "", ["1"])
    assert cache.get("doc", "v0 = ", "") is None and cache.get("doc", "v2 = ", "") == ["1"]
