"""Talk to the assistant in the terminal as a test customer: the same engine Telegram uses."""

import asyncio
import sys
from typing import TextIO

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser, OutputWrapper

from assistant.engine import handle_turn
from assistant.types import ChatRef, Reply, Sender, Turn, TurnKind

CHANNEL = "console"
QUIT = {"/quit", "/exit"}


class Command(BaseCommand):
  help = (
    "Chat with the assistant in the terminal as a test customer. Buttons appear as numbered "
    "choices (type the number); /contact +79123456789 shares a phone; Ctrl-D or /quit leaves."
  )
  stealth_options = ("stdin",)  # tests pass a text stream as the keyboard

  def add_arguments(self, parser: CommandParser) -> None:
    parser.add_argument(
      "--user", default="console", help="The test customer's id; each id is its own customer."
    )
    parser.add_argument("--name", default="Console", help="The test customer's first name.")
    parser.add_argument(
      "--language",
      choices=[code for code, _name in settings.LANGUAGES],
      default=None,
      help="The customer's language as their app would report it (default LANGUAGE_CODE).",
    )
    parser.add_argument(
      "--no-stream", action="store_true", help="Print answers only when complete."
    )

  def handle(self, *args, user: str, name: str, language: str | None, no_stream: bool, **options):
    session = ConsoleSession(
      user=user,
      name=name,
      language=language or settings.LANGUAGE_CODE,
      stdin=options.get("stdin") or sys.stdin,
      stdout=self.stdout,
      stream=not no_stream,
    )
    session.run()


class ConsoleSession:
  """One customer's conversation: reads lines, sends turns, prints replies and buttons."""

  def __init__(
    self, *, user: str, name: str, language: str, stdin: TextIO, stdout: OutputWrapper, stream: bool
  ) -> None:
    self.sender = Sender(external_id=user, first_name=name, language_code=language)
    self.chat = ChatRef(external_id=user)
    self.stdin = stdin
    self.stdout = stdout
    self.stream = stream
    self.choices: dict[str, str] = {}  # "1" -> callback data of the buttons shown last
    self.shown = ""  # the streamed text printed so far

  def run(self) -> None:
    # One loop for the session; input is read outside it so Ctrl-C interrupts at once.
    loop = asyncio.new_event_loop()
    self.stdout.write(
      f"Chatting as customer {self.sender.external_id!r} ({CHANNEL}). Type /start to begin, "
      "a number to press a button, /contact +79123456789 to share a phone, /quit to leave."
    )
    try:
      while (line := self.read()) is not None:
        turn = self.turn(line)
        if turn is not None:
          loop.run_until_complete(self.send(turn))
    except KeyboardInterrupt:
      self.stdout.write("")
    finally:
      pending = asyncio.all_tasks(loop)  # a turn cut short by Ctrl-C
      for task in pending:
        task.cancel()
      if pending:
        loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
      loop.run_until_complete(loop.shutdown_asyncgens())
      loop.close()
    self.stdout.write("Bye!")

  def read(self) -> str | None:
    """The next line typed, or None to leave (Ctrl-D, end of input, /quit)."""
    if self.stdin is sys.stdin and sys.stdin.isatty():  # pragma: no cover - interactive only
      try:
        line = input("you> ")
      except EOFError:
        return None
    else:
      line = self.stdin.readline()
      if not line:
        return None
    line = line.rstrip("\n")
    return None if line.strip().lower() in QUIT else line

  def turn(self, line: str) -> Turn | None:
    base = {"channel": CHANNEL, "sender": self.sender, "chat": self.chat}
    text = line.strip()
    if not text:
      return None
    if text in self.choices:
      return Turn(**base, kind=TurnKind.BUTTON, callback_data=self.choices[text])
    if text.split()[0].lower() == "/contact":
      phone = text[len("/contact") :].strip()
      if not phone:
        self.stdout.write("Usage: /contact +79123456789")
        return None
      return Turn(
        **base,
        kind=TurnKind.CONTACT,
        contact_phone=phone,
        contact_user_id=self.sender.external_id,
      )
    return Turn(**base, text=line)

  async def send(self, turn: Turn) -> None:
    self.shown = ""
    replies = await handle_turn(turn, stream=self.on_stream if self.stream else None)
    self.show(replies)

  async def on_stream(self, text: str) -> None:
    if not self.shown:
      self.stdout.write("bot> ", ending="")
    if text.startswith(self.shown):
      self.stdout.write(text[len(self.shown) :], ending="")
    else:  # the model restarted (fallback to another model): start a new line
      self.stdout.write("\n… " + text, ending="")
    self.stdout.flush()
    self.shown = text

  def show(self, replies: list[Reply]) -> None:
    self.choices = {}
    for reply in replies:
      if reply.streamed:
        self.stdout.write("")  # end the streamed line
      else:
        if self.shown:
          self.stdout.write("")
          self.shown = ""
        self.stdout.write(f"bot> {reply.text}")
      for row in reply.buttons:
        for button in row:
          if button.url:
            self.stdout.write(f"   ↗ {button.text}: {button.url}")
          else:
            number = str(len(self.choices) + 1)
            self.choices[number] = button.data
            self.stdout.write(f"   [{number}] {button.text}")
      if reply.request_contact:
        self.stdout.write(f"   [{reply.request_contact}: type /contact +79123456789]")
