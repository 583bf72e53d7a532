"""Needs discovery: scenarios are data (content file or admin); answers go on the lead."""

from typing import Any

from django.utils.translation import gettext as _

from assistant.conversation.contacts import contact_ask, contact_known
from assistant.conversation.context import TurnContext, button, rows
from assistant.conversation.texts import business_text
from assistant.types import Reply
from leads.models import Lead, Scenario
from leads.selectors import scenario_get
from leads.services import lead_answer_set, lead_stage_set

SCENARIO = "scenario"  # state key: {"key": scenario key, "step": index of the question asked}


def scenario_start(ctx: TurnContext, key: str) -> list[Reply] | None:
  """Ask the first question of scenario `key`; None if there is no such scenario."""
  scenario = scenario_get(key=key, language=ctx.language)
  if scenario is None or not _steps(scenario):
    return None
  ctx.label = scenario.title
  ctx.state_pop("pending")
  ctx.state_set(SCENARIO, {"key": scenario.key, "step": 0})
  intro = _("Let's go! A few short questions (send /cancel to stop).")
  return [Reply(text=intro), _question(scenario, 0)]


def scenario_button(ctx: TurnContext, payload: str) -> list[Reply] | None:
  """scn:<key> starts a scenario; scn:<key>:<step>:<option> answers. None for a stale button."""
  parts = payload.split(":")
  if len(parts) == 1:
    return scenario_start(ctx, parts[0])
  if len(parts) != 3 or not parts[1].isdigit() or not parts[2].isdigit():
    return None
  key, step, option = parts[0], int(parts[1]), int(parts[2])
  active = ctx.state.get(SCENARIO) or {}
  if active.get("key") != key or active.get("step") != step:
    return None  # an earlier question's button, or a scenario already finished or cancelled
  scenario = scenario_get(key=key, language=ctx.language)
  steps = _steps(scenario) if scenario else []
  options = (steps[step].get("options") or []) if step < len(steps) else []
  if not 0 <= option < len(options):
    return None
  ctx.label = option_label(options[option])
  return _answer(ctx, scenario, step, ctx.label)


def scenario_active(ctx: TurnContext) -> bool:
  return bool(ctx.state.get(SCENARIO))


def scenario_text(ctx: TurnContext) -> list[Reply] | None:
  """A typed answer to the current question; None (and the scenario dropped) if it is gone."""
  active = ctx.state.get(SCENARIO) or {}
  scenario = scenario_get(key=str(active.get("key")), language=ctx.language)
  step = active.get("step")
  if scenario is None or not isinstance(step, int) or not 0 <= step < len(_steps(scenario)):
    ctx.state_pop(SCENARIO)  # edited or removed by the business meanwhile
    return None
  return _answer(ctx, scenario, step, ctx.text)


def option_label(option: Any) -> str:
  """An option's button text: options are strings; an admin-edited mapping is tolerated."""
  if isinstance(option, dict):
    return str(option.get("label") or option.get("text") or option.get("title") or "")
  return str(option)


def _steps(scenario: Scenario) -> list[dict]:
  steps = scenario.steps if isinstance(scenario.steps, list) else []
  return [step for step in steps if isinstance(step, dict) and step.get("question")]


def _question(scenario: Scenario, step: int) -> Reply:
  steps = _steps(scenario)
  data = steps[step]
  options = data.get("options") or []
  buttons = rows(
    *(
      button(option_label(option), f"scn:{scenario.key}:{step}:{index}")
      for index, option in enumerate(options)
    )
  )
  text = f"({step + 1}/{len(steps)}) {data['question']}"
  if buttons:
    text += "\n" + _("Choose an option or write your own answer.")
  return Reply(text=text, buttons=buttons)


def _answer(ctx: TurnContext, scenario: Scenario, step: int, answer: str) -> list[Reply]:
  steps = _steps(scenario)
  key = str(steps[step].get("key") or f"{scenario.key}_{step + 1}")
  lead = lead_answer_set(
    customer=ctx.customer, key=key, answer=answer, source=ctx.state.get("source")
  )
  if step + 1 < len(steps):
    ctx.state_set(SCENARIO, {"key": scenario.key, "step": step + 1})
    return [_question(scenario, step + 1)]
  ctx.state_pop(SCENARIO)
  if lead.stage == Lead.Stage.NEW:
    lead_stage_set(lead=lead, stage=Lead.Stage.QUALIFIED)
  replies = [Reply(text=business_text("scenario_done", language=ctx.language))]
  if not contact_known(ctx):
    replies += contact_ask(ctx)
  return replies
