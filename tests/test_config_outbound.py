"""The configuration of what the bot reaches outside Matrix: fetch allowances and the mail
server."""

from __future__ import annotations

from tests.test_config import ENV, MINIMAL, parse, problems


def test_a_feed_at_an_internal_address_needs_an_explicit_allowance() -> None:
    """A feed at a private or loopback IP is refused at its key unless ``fetch.allow_private``
    lists it; metadata addresses are refused even inside an allowed network; an allowance that
    is not an address or network is refused too."""
    text = MINIMAL.replace('allow_private: ["127.0.0.1"]', "allow_private: []")
    assert problems(text) == [
        "bot.yaml: feeds[0].url: 127.0.0.1 is a loopback address, which the bot does not fetch "
        "from; list it under fetch.allow_private",
        "bot.yaml: feeds[1].url: 127.0.0.1 is a loopback address, which the bot does not fetch "
        "from; list it under fetch.allow_private",
    ]
    metadata = MINIMAL.replace("127.0.0.1:8765/event.xml", "169.254.169.254/event.xml").replace(
        'allow_private: ["127.0.0.1"]', 'allow_private: ["127.0.0.1", "169.254.0.0/16"]'
    )
    assert problems(metadata) == [
        "bot.yaml: feeds[1].url: 169.254.169.254 is a cloud metadata address, which the bot does "
        "not fetch from; list it under fetch.allow_private"
    ]
    wrong = MINIMAL.replace('allow_private: ["127.0.0.1"]', 'allow_private: ["intranet"]')
    assert problems(wrong) == [
        "bot.yaml: fetch.allow_private[0]: 'intranet' is not an IP address or network (such as "
        "127.0.0.1 or 10.0.0.0/8)"
    ]


def test_the_mail_section_is_optional_and_checked() -> None:
    """Without ``mail:`` no code is mailed; with it, host and sender are required, the sender
    must be a mail address and the password may come from the environment."""
    assert parse(MINIMAL).mail is None
    mail = parse(
        MINIMAL + "mail:\n  host: smtp.insee.fr\n  username: bot\n  password: ${SMTP_PASSWORD}\n"
        '  sender: "SSP Hub <ssphub@insee.fr>"\n',
        {**ENV, "SMTP_PASSWORD": "s3cret"},
    ).mail
    assert mail is not None and (mail.port, mail.security, mail.code_minutes) == (
        587,
        "starttls",
        30,
    )
    assert mail.password is not None and "s3cret" not in repr(mail)
    assert problems(MINIMAL + "mail:\n  host: smtp.insee.fr\n  sender: personne\n") == [
        "bot.yaml: mail.sender: 'personne' is not a mail address (such as \"SSP Hub "
        '<bot@insee.fr>")'
    ]
