from parley.room_schemas import free_color


def test_a_newcomer_gets_the_lowest_colour_no_one_present_holds():
    assert free_color([]) == 0
    assert free_color([0, 1, 2]) == 3
    assert free_color([0, 2, 3]) == 1  # the one who held 1 left: their colour goes to the next to join
    assert free_color(iter([1, 1])) == 0
