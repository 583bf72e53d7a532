"""The main menu: the catalog and the needs-discovery scenarios as buttons."""

from django.utils.translation import gettext as _

from assistant.conversation.context import TurnContext, button, rows
from assistant.types import Reply
from leads.selectors import scenario_list


def menu_reply(ctx: TurnContext, text: str | None = None) -> Reply:
  """`text` (or "How can I help?") with buttons for the catalog and each scenario."""
  buttons = [button(_("📋 Our services"), "svc:")]
  buttons += [
    button(f"🧭 {scenario.title}", f"scn:{scenario.key}")
    for scenario in scenario_list(language=ctx.language)
    if scenario.steps
  ]
  default = _("How can I help? Ask a question in your own words or choose below.")
  return Reply(text=text or default, buttons=rows(*buttons))
