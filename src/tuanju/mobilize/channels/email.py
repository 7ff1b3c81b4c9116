"""E-mail through Django's mail backend (``EMAIL_BACKEND`` and friends)."""

from __future__ import annotations

from email.utils import make_msgid

from django.conf import settings
from django.core.mail import EmailMessage

from . import Outbound, Outcome, Result


class Mail:
    channel = "email"

    def send(self, msg: Outbound) -> Result:
        if not msg.email:
            return Result(Outcome.PERMANENT, error="没有电子邮箱")
        subject = (
            f"【{msg.urgency}指令】{msg.title}" if msg.purpose == "directive" and msg.urgency else msg.title
        )
        parts = [f"{msg.recipient}：" if msg.recipient else "", msg.text]
        parts.extend(msg.lines)
        if msg.link:
            parts.append(f"查看并确认收到：{msg.link}")
        message_id = make_msgid(domain="tuanju")
        email = EmailMessage(
            subject=subject[:150],
            body="\n\n".join(p for p in parts if p),
            from_email=getattr(settings, "DEFAULT_FROM_EMAIL", None),
            to=[msg.email],
            headers={"Message-ID": message_id, "X-Tuanju-Key": msg.idem_key},
        )
        try:
            email.send(fail_silently=False)
        except (OSError, ValueError) as exc:
            return Result(Outcome.RETRY, error=f"邮件发送失败：{exc.__class__.__name__}")
        return Result(Outcome.OK, provider_id=message_id.strip("<>")[:100])
