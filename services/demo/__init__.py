"""`convene demo`: one family's initial conference, played from the CRM side: the story
(`story`), playing it through the services (`playing`), and the timeline told in plain
words (`telling`)."""

from services.demo.playing import run_demo

__all__ = ["run_demo"]
