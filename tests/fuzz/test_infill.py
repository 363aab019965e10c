"""The palette-infill model's inputs as a panel, a project or the render server hands them over: any values
give a palette with the locked swatches in their slots (from the committed model), or an AtelierError."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from atelier.core.errors import AtelierError, InvalidRequestError
from atelier.core.requests.palette import PaletteInfillRequest, PaletteResult
from atelier.engine.runner import Engine
from tests.fuzz import inputs

ENGINE = Engine()  # module-wide: hypothesis runs the test body many times, the pack loads once


@settings(max_examples=200, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_fuzz_infill_values_give_a_palette_around_the_locks_or_a_clear_error(seed: int) -> None:
    values = inputs.infill_values(random.Random(seed))
    try:
        request = PaletteInfillRequest(**values)  # type: ignore[arg-type]
        result = ENGINE.run_to_end(request)
    except AtelierError as exc:
        assert str(exc)
        return
    assert isinstance(result, PaletteResult) and len(result.colors) == request.count
    assert all(result.colors[slot] == colour for slot, colour in request.locked)
    assert all(len(c) == 7 and c.startswith("#") for c in result.colors)


@pytest.mark.parametrize("locked", [((1,),), "x", (("9", "#000000"),), ((None, "#000000"),)])
def test_a_lock_that_is_not_a_slot_and_a_colour_is_an_invalid_request(locked: object) -> None:
    with pytest.raises(InvalidRequestError):
        PaletteInfillRequest(count=5, locked=locked)  # type: ignore[arg-type]
