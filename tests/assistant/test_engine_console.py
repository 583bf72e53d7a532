"""`manage.py chat`: the same engine in a terminal, driven here through stdin."""

import io

import pytest
from django.core.management import call_command

from assistant.types import Button, Reply
from leads.models import Customer, Lead
from llm.models import Prompt
from memory.models import Message

pytestmark = pytest.mark.django_db(transaction=True)


def chat(lines: list[str], **options) -> str:
  out = io.StringIO()
  options.setdefault("user", "tester")
  options.setdefault("language", "en")
  call_command(
    "chat", stdin=io.StringIO("".join(f"{line}\n" for line in lines)), stdout=out, **options
  )
  return out.getvalue()


def test_console_conversation_with_buttons_and_a_shared_phone(fake_llm, llm_model):
  # given
  Prompt.objects.create(key="consent", language="en", text="Do you agree?")
  fake_llm.enqueue(text="We build websites.")

  # when
  output = chat(
    ["/start", "1", "/contact +7 912 345-67-89", "What do you do?", "/quit", "never read"]
  )

  # then
  assert "Chatting as customer 'tester' (console)." in output
  assert "bot> Do you agree?\n   [1] ✅ I agree\n   [2] ❌ No, thanks\n" in output
  assert "bot> We build websites.\n   [1] 👍\n   [2] 👎\n" in output
  assert output.endswith("Bye!\n")
  person = Customer.objects.get(channel="console", external_id="tester")
  assert person.consent == Customer.Consent.GIVEN
  assert Lead.objects.get().phone == "+79123456789"
  assert Lead.objects.get().source == "console"
  assert Message.objects.filter(role="user").count() == 4


def test_console_streams_tokens(fake_llm, llm_model):
  fake_llm.enqueue(stream_chunks=["We ", "build ", "sites."])

  output = chat(["What do you do?"])

  assert "bot> We build sites.\n   [1] 👍\n" in output


def test_console_without_streaming(fake_llm, llm_model):
  fake_llm.enqueue(text="Plain.")

  output = chat(["hi"], no_stream=True)

  assert "bot> Plain.\n" in output


def session(out: io.StringIO):
  from django.core.management.base import OutputWrapper

  from assistant.management.commands.chat import ConsoleSession

  return ConsoleSession(
    user="u", name="U", language="en", stdin=io.StringIO(), stdout=OutputWrapper(out), stream=True
  )


def test_console_stream_restarted_by_a_fallback_model_starts_a_new_line():
  # given
  import asyncio

  out = io.StringIO()
  console = session(out)

  # when
  asyncio.run(console.on_stream("Half an "))
  asyncio.run(console.on_stream("Whole."))
  console.show([Reply(text="Sorry.")])

  # then
  assert out.getvalue() == "bot> Half an \n… Whole.\nbot> Sorry.\n"


def test_console_shows_link_buttons_unnumbered():
  out = io.StringIO()
  console = session(out)

  console.show(
    [
      Reply(
        text="See",
        buttons=[
          [Button(text="Site", url="https://example.com")],
          [Button(text="Go", data="svc:")],
        ],
      )
    ]
  )

  assert out.getvalue() == "bot> See\n   ↗ Site: https://example.com\n   [1] Go\n"
  assert console.choices == {"1": "svc:"}


def test_console_shows_the_share_phone_hint(fake_llm, llm_model):
  output = chat(["How much does it cost?", "3"])

  assert "   [1] 👍\n   [2] 👎\n" in output
  assert "   [3] ✅ I agree" in output
  assert "[📱 Share my phone: type /contact +79123456789]" in output


def test_console_contact_without_a_number_shows_usage():
  output = chat(["/contact", ""])

  assert "Usage: /contact +79123456789" in output
  assert Message.objects.count() == 0


def test_console_ends_on_end_of_input_and_keyboard_interrupt(monkeypatch):
  from assistant.management.commands import chat as command

  calls = iter(["/help\n"])

  def read_then_interrupt(self):
    line = next(calls, None)
    if line is None:
      raise KeyboardInterrupt
    return line

  monkeypatch.setattr(command.ConsoleSession, "read", read_then_interrupt)

  output = chat([])

  assert output.endswith("\nBye!\n")
  assert Message.objects.filter(role="user").count() == 1


def test_console_ctrl_c_during_a_turn_cancels_it_cleanly(monkeypatch):
  import asyncio

  from assistant.management.commands import chat as command

  started = []

  async def interrupted(self, turn):
    started.append(asyncio.ensure_future(asyncio.sleep(10)))
    raise KeyboardInterrupt

  monkeypatch.setattr(command.ConsoleSession, "send", interrupted)

  output = chat(["hi", "never sent"])

  assert output.endswith("\nBye!\n")
  assert started[0].cancelled()
