from agent.labels import SpeakerLabels


def test_first_voice_is_the_name_and_more_voices_are_numbered():
    labels = SpeakerLabels("Ann")
    assert labels.label("S1") == ("Ann", 1)
    assert labels.label("S2") == ("Ann (2)", 2)
    assert labels.label("S1") == ("Ann", 1)
    assert labels.label("S3") == ("Ann (3)", 3)
    assert labels.last == "Ann (3)"


def test_voices_are_numbered_in_the_order_they_are_heard_not_by_diarizer_label():
    labels = SpeakerLabels("Bob")
    assert labels.label("S2") == ("Bob", 1)
    assert labels.label("S1") == ("Bob (2)", 2)


def test_before_any_final_the_label_is_the_name():
    assert SpeakerLabels("Cleo").last == "Cleo"
