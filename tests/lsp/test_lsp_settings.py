from pycodesmall.lsp_server.settings import Settings


def test_editor_settings_apply_in_camel_case_and_under_their_section():
    settings, problems = Settings().updated({"pycodesmall": {"maxNewTokens": 16, "debounceMs": 0,
                                                             "validate": False, "model": "some/dir"}})
    assert problems == []
    assert (settings.max_new_tokens, settings.debounce_ms, settings.validate, settings.model) == (16, 0, False, "some/dir")
    assert Settings().updated({"temperature": 1})[0].temperature == 1.0


def test_bad_values_are_reported_and_the_previous_value_kept():
    start = Settings(max_lines=3)
    settings, problems = start.updated({"maxLines": 0, "temperature": "hot", "backend": "tpu",
                                        "validate": "yes", "colour": "blue", "maxNewTokens": 8})
    assert settings == Settings(max_lines=3, max_new_tokens=8)
    assert len(problems) == 5
    assert any("maxLines" in p and "from 1 to 100" in p and "keeping 3" in p for p in problems)
    assert any("backend" in p and "auto, torch, onnx" in p for p in problems)
    assert any("unknown setting 'colour'" in p for p in problems)
    assert Settings().updated([1, 2])[1] == ["settings must be an object, got list"]
    assert Settings().updated(None) == (Settings(), [])


def test_only_model_backend_and_device_pick_the_model():
    assert Settings(max_new_tokens=5).model_key() == Settings().model_key()
    assert Settings(device="cpu").model_key() != Settings().model_key()


def test_max_new_tokens_must_leave_room_for_the_prompt_in_the_model_context():
    fitting = Settings(max_new_tokens=300)
    assert fitting.fitted(512, Settings()) == (fitting, [])
    settings, [problem] = Settings(max_new_tokens=512).fitted(512, Settings(max_new_tokens=20))
    assert settings.max_new_tokens == 20
    assert "512-token context" in problem and "at most 384" in problem and "keeping 20" in problem
    settings, [problem] = Settings(max_new_tokens=500).fitted(256, Settings(max_new_tokens=400))
    assert settings.max_new_tokens == 192 and "using 192" in problem
