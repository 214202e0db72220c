"""A steady booking load (`paspor chaos`, `paspor bench soak`): new citizens booking at a fixed rate, tallied."""
