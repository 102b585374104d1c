"""The demo organisation of CONTRACT.md (示例市), seeded only with --demo; idempotent."""

from __future__ import annotations

from sqlmodel import col, select

from api.db.models import District, Organisation, User
from api.services.auth import hash_password, password_matches
from api.services.context import Context

DEMO_PASSWORD = "demo"

DISTRICTS = [("dongcheng", "东城区", "central"), ("linhe", "临河县", "county")]

# username, organisation code, organisation name, district (None = city level), roles
DEMO_ACCOUNTS: list[tuple[str, str, str, str | None, list[str]]] = [
    ("admin", "system", "系统管理员", None, ["admin"]),
    ("owner", "demo_renewal_co", "示例城市更新有限公司", None, ["applicant"]),
    ("owner2", "demo_renewal_co2", "示例旧改投资有限公司", None, ["applicant"]),
    ("dongcheng.gov", "dongcheng_gov", "东城区人民政府", "dongcheng", ["local_gov"]),
    ("dongcheng.zhujian", "dongcheng_zhujian", "东城区住房和城乡建设局", "dongcheng", ["local_renewal_office"]),
    ("linhe.zhujian", "linhe_zhujian", "临河县住房和城乡建设局", "linhe", ["local_renewal_office"]),
    ("linhe.gov", "linhe_gov", "临河县人民政府", "linhe", ["local_gov"]),
    ("linhe.zrzy", "linhe_zrzy", "临河县自然资源和规划局", "linhe", ["planning_authority"]),
    ("city.zrzy", "city_zrzy", "市自然资源和规划局", None, ["planning_authority"]),
    ("city.zhujian", "city_zhujian", "市住房和城乡建设局", None, ["housing_authority"]),
    ("city.fagai", "city_fagai", "市发展和改革委员会", None, ["development_reform"]),
    ("city.zhuanban", "city_zhuanban", "市城市更新工作专班", None, ["city_task_force"]),
    ("city.gov", "city_gov", "市人民政府", None, ["city_gov"]),
    ("linhe.town", "linhe_qingshan_town", "临河县青山镇人民政府", "linhe", ["town_gov"]),
    ("linhe.fengmao", "linhe_fengmao", "临河县风貌办", "linhe", ["county_townscape_office"]),
    ("city.fengmao", "city_fengmao", "市风貌办", None, ["city_townscape_office"]),
    ("city.expert", "city_expert", "市城市更新专家委员会", None, ["expert_committee"]),
]


def seed_demo(context: Context) -> int:
    """Create the demo districts, organisations and accounts that are missing; returns how many users."""
    created = 0
    with context.db.write() as session:
        for code, name, level in DISTRICTS:
            if session.get(District, code) is None:
                session.add(District(code=code, name=name, level=level))
        session.flush()
        for username, org_code, org_name, district, roles in DEMO_ACCOUNTS:
            organisation = session.exec(select(Organisation).where(Organisation.code == org_code)).first()
            if organisation is None:
                organisation = Organisation(code=org_code, name=org_name, district=district)
                session.add(organisation)
                session.flush()
            user = session.exec(select(User).where(User.username == username)).first()
            if user is not None and not user.is_active and password_matches(DEMO_PASSWORD, user.password_hash):
                user.is_active = True  # put away by a start without --demo (see retire_demo_accounts)
            if user is None:
                assert organisation.id is not None
                session.add(User(
                    username=username, display_name=org_name, password_hash=hash_password(DEMO_PASSWORD),
                    organisation_id=organisation.id, roles=roles, created_at=context.clock.now(),
                ))  # fmt: skip
                created += 1
    return created


def retire_demo_accounts(context: Context) -> int:
    """Disable the demo accounts that still have the demo password (a start without --demo, on a
    database once started with it): demo accounts exist only with --demo, and ``admin``/``demo``
    must not open a real deployment. An account whose password was changed is left alone."""
    names = [account[0] for account in DEMO_ACCOUNTS]
    retired = 0
    with context.db.write() as session:
        active = session.exec(select(User).where(col(User.username).in_(names), col(User.is_active)))
        for user in active:
            if password_matches(DEMO_PASSWORD, user.password_hash):
                user.is_active = False
                retired += 1
    return retired
