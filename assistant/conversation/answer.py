"""Free questions: the LLM answers with FAQ, catalog and memory in its context; FAQ as fallback.

Split in two around the network call so no database connection is held while the model works:
`answer_prepare` (ORM thread) builds the messages, the engine awaits `llm.client.complete`, and
`answer_finish` (ORM thread) stores the answer and builds the replies.
"""

import datetime as dt
import logging
import re

from django.conf import settings
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from assistant.conversation.contacts import contact_ask, contact_wanted, has_consent
from assistant.conversation.context import AnswerRequest, Outcome, TurnContext
from assistant.conversation.deeplinks import contact_invite
from assistant.conversation.feedback import feedback_buttons
from assistant.conversation.texts import business_text
from assistant.types import Reply
from leads.selectors import catalog_search, faq_search
from llm.client import Completion
from llm.models import PromptVersion
from llm.prompts import system_prompt_build
from llm.selectors import customer_model_current, customer_model_name
from llm.services import customer_budget_exceeded
from memory.models import Message
from memory.selectors import context_build, participant_name
from memory.services import message_store_answer

logger = logging.getLogger(__name__)

FAQ_HITS = 3
SERVICE_HITS = 3
CONTACT_ASKED = "contact_asked_at"  # state key: when we last offered to leave a contact unasked
CONTACT_ASK_INTERVAL = dt.timedelta(days=1)
# Words that show buying interest: a good moment to offer leaving a contact.
INTEREST = re.compile(
  r"(цен[аыуе]|стоим|сколько стоит|прайс|заказ|купит|куплю|оформ|записат|запиш|созвон|перезвон|"
  r"связат|консультац|менеджер|договор|смет|\bprice|\bcost|how much|\border|\bbuy|purchase|"
  r"\bbook|\bquote|call me|call back|contact me|manager|consultation|estimate)",
  re.IGNORECASE,
)


def answer_prepare(
  ctx: TurnContext, *, replies: list[Reply] | None = None, query: str | None = None
) -> Outcome:
  """The LLM request for the customer's message (as stored: contacts may be redacted).

  `query` replaces the message's text (the question after /ask).
  """
  query = ctx.inbound.text if query is None else query
  customer = ctx.customer
  hits = faq_search(query=query, language=ctx.language, limit=FAQ_HITS)
  services = catalog_search(query=query, language=ctx.language, limit=SERVICE_HITS)
  memory = context_build(
    customer=customer,
    chat=ctx.chat,
    query=query,
    exclude_message_ids={ctx.inbound.pk},
    thread_id=ctx.turn.chat.thread_id,
    model=customer_model_current(customer=customer),
  )
  group = {}
  if ctx.in_group:
    # Who is who: the person's public first name, the group's latest messages as context.
    name = participant_name(customer)
    group = {"group_title": ctx.chat.title, "participant": name, "shared": memory.shared}
  system, version = system_prompt_build(
    language=ctx.language,
    faq=[entry for entry, _score in hits],
    services=services,
    customer=customer,
    background=memory.background,
    **group,
  )
  best = hits[0] if hits else None
  request = AnswerRequest(
    turn=ctx.turn,
    customer=customer,
    chat=ctx.chat,
    inbound=ctx.inbound,
    messages=[
      {"role": "system", "content": system},
      *memory.history,
      {"role": "user", "content": f"{group['participant']}: {query}" if group else query},
    ],
    model_name=customer_model_name(customer=customer),
    prompt_version=version,
    faq_answer=best[0].answer if best and best[1] >= settings.FAQ_FALLBACK_MIN_SCORE else "",
    interest=bool(INTEREST.search(query)),
    budget_exceeded=customer_budget_exceeded(customer=customer),
  )
  return Outcome(replies=list(replies or []), answer=request)


def answer_finish(request: AnswerRequest, completion: Completion | None) -> list[Reply]:
  """Store the LLM's answer (or the fallback) and return it with 👍/👎 and any follow-up."""
  ctx = TurnContext(
    turn=request.turn, customer=request.customer, chat=request.chat, inbound=request.inbound
  )
  with translation.override(ctx.language):
    if completion is not None:
      replies = [
        _stored_reply(ctx, completion.text, completion=completion, version=request.prompt_version)
      ]
      if request.interest:
        replies += _contact_offer(ctx)
    else:
      replies = _fallback(ctx, request)
    return ctx.finish(replies)


def _stored_reply(
  ctx: TurnContext,
  text: str,
  *,
  completion: Completion | None = None,
  version: PromptVersion | None = None,
  is_fallback: bool = False,
) -> Reply:
  """The answer stored now, because its 👍/👎 buttons need the message id."""
  message = _answer_store(
    ctx, text, completion=completion, prompt_version=version, is_fallback=is_fallback
  )
  if message is None:
    return Reply(text=text)
  return Reply(text=text, buttons=feedback_buttons(message.pk), message_id=message.pk)


def _answer_store(ctx: TurnContext, text: str, **fields) -> Message | None:
  """Store the answer to the question; None when the question was erased (/forget) while the
  model was answering: the answer is still sent, but nothing more is stored for this turn."""
  message = message_store_answer(
    reply_to=ctx.inbound,
    chat=ctx.chat,
    customer=ctx.customer,
    text=text,
    thread_id=ctx.turn.chat.thread_id,
    **fields,
  )
  ctx.forgotten = message is None
  return message


def _contact_offer(ctx: TurnContext) -> list[Reply]:
  """Offer to leave a contact (or ask consent first), at most once a day."""
  if not contact_wanted(ctx):
    return []
  now = timezone.now()
  asked = ctx.state.get(CONTACT_ASKED)
  if isinstance(asked, str) and now - dt.datetime.fromisoformat(asked) < CONTACT_ASK_INTERVAL:
    return []
  ctx.state_set(CONTACT_ASKED, now.isoformat())
  return contact_ask(ctx)


def _fallback(ctx: TurnContext, request: AnswerRequest) -> list[Reply]:
  """No model answered (or the budget is spent): the best FAQ answer, else a manager will reply."""
  if request.faq_answer:
    text = business_text("faq_fallback", language=ctx.language, answer=request.faq_answer)
    offer = _contact_offer(ctx) if request.interest else []
    return [_stored_reply(ctx, text, is_fallback=True), *offer]
  if request.budget_exceeded:
    text = _(
      "You've reached today's limit of questions to the AI assistant. A manager will answer "
      "you, or you can ask again tomorrow."
    )
  elif ctx.in_group:
    text = _(
      "I can't answer that right now. Write to me privately and a manager will get back to you."
    )
    return _fallback_stored(ctx, contact_invite(ctx, text))
  elif contact_wanted(ctx):
    text = business_text("operator_fallback", language=ctx.language)
    if has_consent(ctx):
      return _fallback_stored(ctx, contact_ask(ctx, text=text))
    return _fallback_stored(ctx, [Reply(text=text), *contact_ask(ctx)])
  else:
    text = _("I can't answer that right now. A manager will get back to you soon.")
  return _fallback_stored(ctx, [Reply(text=text)])


def _fallback_stored(ctx: TurnContext, replies: list[Reply]) -> list[Reply]:
  """The first reply stored as the fallback answer; follow-ups are stored by `ctx.finish`."""
  first = replies[0]
  message = _answer_store(ctx, first.text, is_fallback=True)
  if message is not None:
    first.message_id = message.pk
  return replies
