"""The roles a workflow may name (PROCESS.md §1) and the facts the engine derives."""

from __future__ import annotations

ROLE_TITLES: dict[str, str] = {
    "applicant": "实施主体",
    "plan_compiler": "规划编制单位",
    "local_gov": "属地政府",
    "local_renewal_office": "城市更新工作机构",
    "planning_authority": "自然资源和规划局",
    "planning_committee": "国土空间规划委员会",
    "development_reform": "发展和改革委员会",
    "housing_authority": "住房和城乡建设局",
    "finance": "财政局",
    "approval_bureau": "行政审批服务局",
    "city_task_force": "市城市更新工作专班",
    "city_gov": "市人民政府",
    "expert_committee": "城市更新专家委员会",
    "leading_group": "城市更新工作领导小组",
    "town_gov": "镇人民政府",
    "county_townscape_office": "县风貌办",
    "city_townscape_office": "市风貌办",
    "dept_head": "行政机关负责人",
    "checker": "核查人员",
    "external_system": "外部系统",
    "credit_platform": "信用信息平台",
    "system": "系统",
    "admin": "系统管理员",
}

# Jurisdiction levels of PROCESS.md §2; `level` is derived from the application's district.
LEVELS: dict[str, str] = {"central": "中心城区", "county": "县（市、区）", "city": "市级", "town": "镇（街道）"}

# Facts every condition may read besides the form fields, with their possible values.
DERIVED_FACTS: dict[str, list[object]] = {"level": ["central", "county"]}
