"""Prizes from competitions, heard through the ``award_granted`` / ``award_revoked`` hooks (the awards plugin
announces them; points never imports it) and asked again with ``granted_awards`` by a recompute."""
from plugins.points import earning, periods
from plugins.points import rules as rule_table
from reslib.extensions import db
from reslib.models import User
from reslib.models.base import utcnow
from reslib.plugins import hooks


def granted() -> list[dict]:
    return [award for batch in hooks().granted_awards() for award in batch]


def entries_for(awards: list[dict]) -> list[dict]:
    """Each winner's entry for each prize, and its reversal where the prize was taken back."""
    found = []
    for award in awards:
        at = award.get("at") or utcnow()
        version = rule_table.version_on(periods.local_day(at), at)
        level = award["level"] if award["level"] in rule_table.PRIZES else "other"
        amount = version.rules["prizes"][level]
        for user_id in award["people"]:
            user = db.session.get(User, user_id)
            if user is None or not amount:
                continue
            key = f"prize:{award['key']}:{user_id}"
            found.append(earning.new_entry(user_id, amount, "prize", key, version.id, None, user.school_id, at,
                                       award["title"]))
            if award.get("revoked_at"):
                found.append(earning.new_entry(user_id, -amount, "prize", f"{key}:revoked", version.id, None,
                                           user.school_id, award["revoked_at"], award["title"]))
    return found


def credit(award: dict) -> None:
    """A prize granted, or taken back (its grant is written too if it was missed); commits."""
    for entry in entries_for([award]):
        earning.write_entry(entry)
    db.session.commit()
