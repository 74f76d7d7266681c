"""Schemathesis hooks for scripts/fuzz.sh (loaded through SCHEMATHESIS_HOOKS).

`format: http-date` (the RFC 7231 IMF-fixdate of `x-fapi-auth-date`) gets a strategy of
its own: schemathesis generates header values from alphanumerics only, and a pattern
that needs commas and spaces would otherwise leave it sending placeholders it counts
as valid."""

import schemathesis
from hypothesis import strategies as st

IMF_FIXDATE = (
    r"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), [0-9]{2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) "
    r"[0-9]{4} [0-9]{2}:[0-9]{2}:[0-9]{2} (GMT|UTC)$"
)

schemathesis.openapi.format("http-date", st.from_regex(IMF_FIXDATE, fullmatch=True))
