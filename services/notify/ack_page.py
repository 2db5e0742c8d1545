"""The pages behind an alert's acknowledgement link: the confirmation form, with the optional 3RS tags (rupture
type, repair strategies), and its answers. Plain HTML forms, so they work without JavaScript. Pure."""

from html import escape

from pydantic import ValidationError

from services.notify.acknowledgement import Acknowledged
from shared.contracts import RepairTags
from shared.repair import STRATEGY_WORDS, TYPE_WORDS

PAGE = """<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>Alliance alert</title>
<style>
body {{ font-family: sans-serif; max-width: 32em; margin: 3em auto; padding: 0 1em; }}
fieldset {{ margin: 0 0 1em; }}
label {{ display: block; padding: 0.2em 0; }}
</style></head>
<body><main>{body}</main></body></html>"""

FIRST_COUNTS = (
    "Naming the rupture and the repair is optional. Only the first acknowledgement of an episode keeps its "
    "tags: if it was already acknowledged (through this link, the API or the client view), what you tick here "
    "is not recorded. You can also tag it later when resolving it in the client view."
)


class BadTags(Exception):
    """The form sent a rupture type or a strategy it does not offer (a tampered request): what was wrong, in
    words for the page."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def page(body: str) -> str:
    return PAGE.format(body=body)


def confirmation(rupture_id: str) -> str:
    """The form a GET shows; its button POSTs to the same link."""
    types = [("", "not named")] + [(str(kind), words) for kind, words in TYPE_WORDS.items()]
    type_inputs = "".join(
        f'<label for="type-{value or "none"}"><input type="radio" name="rupture_type" id="type-{value or "none"}"'
        f' value="{value}"{" checked" if not value else ""}> {escape(words)}</label>'
        for value, words in types
    )
    strategy_inputs = "".join(
        f'<label for="strategy-{strategy}"><input type="checkbox" name="strategies" id="strategy-{strategy}"'
        f' value="{strategy}"> {escape(words)}</label>'
        for strategy, words in STRATEGY_WORDS.items()
    )
    return page(
        f"<h1>Rupture alert {escape(rupture_id)}</h1>"
        "<p>Confirm that you have seen this alert. This stops its escalation to your supervisor.</p>"
        '<form method="post">'
        f'<p id="tags-hint">{FIRST_COUNTS}</p>'
        '<fieldset aria-describedby="tags-hint"><legend>Type of rupture (optional)</legend>'
        f"{type_inputs}</fieldset>"
        '<fieldset aria-describedby="tags-hint"><legend>Repair strategies used (optional)</legend>'
        f"{strategy_inputs}</fieldset>"
        '<button type="submit">I have seen this alert</button></form>'
    )


def tags_from_form(rupture_type: str, strategies: list[str]) -> RepairTags:
    """The form's tags as the contract reads them ("" is the "not named" choice); BadTags for anything the form
    does not offer."""
    try:
        return RepairTags.model_validate({"rupture_type": rupture_type or None, "strategies": strategies})
    except ValidationError as invalid:
        raise BadTags(_problems(invalid)) from None


def _problems(invalid: ValidationError) -> list[str]:
    problems: list[str] = []
    for error in invalid.errors():
        field = error["loc"][0] if error["loc"] else ""
        if field == "rupture_type":
            problems.append(f"“{_shown(error['input'])}” is not a type of rupture this form offers.")
        elif field == "strategies" and len(error["loc"]) > 1:
            problems.append(f"“{_shown(error['input'])}” is not a repair strategy this form offers.")
        elif error["type"] == "too_long":
            problems.append("More repair strategies were sent than the form offers.")
        else:  # the list as a whole: a browser sends each ticked box once
            problems.append("A repair strategy was sent more than once.")
    return problems


def _shown(value: object, limit: int = 60) -> str:
    text = str(value)
    return text if len(text) <= limit else text[:limit] + "…"


def refused(problems: list[str]) -> str:
    """The answer to a form the page never showed: nothing was recorded."""
    items = "".join(f"<li>{escape(problem)}</li>" for problem in problems)
    return page(
        "<h1>Nothing was recorded</h1>"
        f"<p>The form sent a choice it does not offer:</p><ul>{items}</ul>"
        # An empty href is this very link: a GET, so the confirmation form again.
        '<p><a href="">Back to the alert</a> to confirm it again.</p>'
    )


def acknowledged(done: Acknowledged) -> str:
    """The answer to the button: the acknowledgement that stands, with its tags. The same for the first click
    and any repeat (a replayed link learns nothing new), so it says whose tags count rather than whether these
    were just recorded."""
    return page(
        f"<h1>Thank you</h1><p>This alert is acknowledged (at {done.acknowledged_at:%Y-%m-%d %H:%M} UTC).</p>"
        f"<p>{_named(done.tags)}</p>"
        "<p>Only the first acknowledgement of an episode keeps its tags: if these are not the ones you ticked, "
        "the episode had already been acknowledged. You can also tag it later when resolving it in the client "
        "view.</p>"
    )


def _named(tags: RepairTags) -> str:
    if tags.rupture_type is None and not tags.strategies:
        return "The rupture and its repair were not named."
    kind = escape(TYPE_WORDS[tags.rupture_type]) if tags.rupture_type else "not named"
    used = ", ".join(escape(STRATEGY_WORDS[s]) for s in tags.strategies) or "none named"
    return f"Type of rupture: {kind}. Repair strategies: {used}."
