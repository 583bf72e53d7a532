"""The customer's own settings: AI model (/model), language (/language), erasure (/forget)."""

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext as _

from assistant.conversation.context import TurnContext, button, rows
from assistant.types import Reply
from leads.services import customer_language_set
from llm.errors import LLMModelNotSelectable
from llm.models import LLMModel
from llm.selectors import customer_model_current, model_list_selectable
from llm.services import customer_model_set
from memory.services import customer_forget

LANGUAGE_NAMES = {"ru": "Русский", "en": "English"}  # each in its own language, never translated
FORGET_REQUESTED = "forget_requested"  # state key: /forget asked, waiting for the confirmation


# --- /model -------------------------------------------------------------------------------------
def model_command(ctx: TurnContext, args: str) -> list[Reply]:
  """/model lists the models as buttons; /model <name> picks one by name."""
  if args:
    try:
      model = customer_model_set(customer=ctx.customer, provider_model_name=args)
    except LLMModelNotSelectable as error:
      text = _("There is no model “%(name)s” to choose. Available: %(models)s.") % {
        "name": args,
        "models": ", ".join(error.valid) or "—",
      }
      return [Reply(text=text, buttons=_model_buttons(ctx))]
    return [_model_chosen(model)]
  buttons = _model_buttons(ctx)
  if not buttons:
    return [Reply(text=_("There are no models to choose from right now."))]
  return [
    Reply(
      text=_("Choose the AI model that answers you (✓ marks the current one):"), buttons=buttons
    )
  ]


def model_button(ctx: TurnContext, payload: str) -> list[Reply] | None:
  """mdl:<model id> of a model customers may still pick; None otherwise."""
  if not payload.isdigit():
    return None
  model = next((m for m in model_list_selectable() if m.pk == int(payload)), None)
  if model is None:
    return None
  ctx.label = model.provider_model_name
  customer_model_set(customer=ctx.customer, provider_model_name=model.provider_model_name)
  return [_model_chosen(model)]


def _model_buttons(ctx: TurnContext) -> list:
  current = customer_model_current(customer=ctx.customer)
  current_pk = current.pk if current else None
  return rows(
    *(
      button(
        ("✓ " if model.pk == current_pk else "") + model.provider_model_name, f"mdl:{model.pk}"
      )
      for model in model_list_selectable()
    )
  )


def _model_chosen(model: LLMModel) -> Reply:
  text = _("Done: %(model)s will answer your next messages.") % {"model": model.provider_model_name}
  return Reply(text=text)


# --- /language ----------------------------------------------------------------------------------
def language_command(ctx: TurnContext, args: str) -> list[Reply]:
  """/language shows the choice; /language en switches at once."""
  code = args.strip().lower()
  if code in _languages():
    return _language_set(ctx, code)
  buttons = rows(*(button(LANGUAGE_NAMES.get(code, code), f"lang:{code}") for code in _languages()))
  return [Reply(text=_("Choose your language:"), buttons=buttons)]


def language_button(ctx: TurnContext, payload: str) -> list[Reply] | None:
  if payload not in _languages():
    return None
  ctx.label = LANGUAGE_NAMES.get(payload, payload)
  return _language_set(ctx, payload)


def _languages() -> list[str]:
  return [code for code, _name in settings.LANGUAGES]


def _language_set(ctx: TurnContext, code: str) -> list[Reply]:
  customer_language_set(customer=ctx.customer, language=code)
  with translation.override(code):
    text = _("Done: I'll speak %(language)s with you now.") % {
      "language": LANGUAGE_NAMES.get(code, code)
    }
    return [Reply(text=text)]


# --- /forget ------------------------------------------------------------------------------------
def forget_command(ctx: TurnContext) -> list[Reply]:
  """Ask to confirm the erasure of everything we store about the customer."""
  ctx.state_set(FORGET_REQUESTED, True)
  text = _(
    "This will delete all your messages, contacts, requests and feedback for good. "
    "It can't be undone. Delete everything?"
  )
  buttons = [[button(_("🗑 Yes, delete"), "forget:yes"), button(_("No, keep"), "forget:no")]]
  return [Reply(text=text, buttons=buttons)]


def forget_button(ctx: TurnContext, payload: str) -> list[Reply] | None:
  """forget:yes|no, valid only right after /forget."""
  if payload not in {"yes", "no"} or not ctx.state.get(FORGET_REQUESTED):
    return None
  ctx.state_pop(FORGET_REQUESTED)
  if payload == "no":
    ctx.label = _("No, keep")
    return [Reply(text=_("OK, nothing was deleted."))]
  counts = customer_forget(customer=ctx.customer)
  ctx.forgotten = True  # the inbound message is gone too: nothing more to store for this turn
  text = (
    _(
      "Done: I've deleted your data (messages: %(messages)s, requests: %(leads)s, "
      "feedback: %(feedback)s). If you write again, I'll start from scratch."
    )
    % counts
  )
  return [Reply(text=text, remove_keyboard=True)]
