"""Tables derived from the views by SQL: the joins a single-resource ViewDefinition cannot make.

Plain SQL that DuckDB and Spark SQL (``spark_job.py``) both run as written. Each entry is
``(table name, SELECT ...)``, created in order, so later tables may read earlier ones. The view tables
(``national_return``, ``return_bundle``, ``reporting_provider``, ``dependent_child``, ``child_data_quality``,
``mental_health_episode``) and
``prntstat_map`` (from the guide's ConceptMap) exist first.
"""

from __future__ import annotations

#: age bands of a dependent child on the reporting date, (label, lowest age, highest age)
AGE_BANDS: tuple[tuple[str, int, int], ...] = (
    ("0-4", 0, 4),
    ("5-9", 5, 9),
    ("10-14", 10, 14),
    ("15-17", 15, 17),
)

_BIRTH = "TRY_CAST(c.birth_date AS DATE)"
_AGE_BAND_CASE = (
    "CASE "
    + " ".join(f"WHEN age_years BETWEEN {low} AND {high} THEN '{label}'" for label, low, high in AGE_BANDS)
    + " ELSE 'unknown' END"
)

#: the report's measures, in the collector's order (collector/reports.py MEASURES; a test keeps them equal)
MEASURE_COLUMNS: tuple[str, ...] = (
    "returns",
    "parents",
    "prntstat_11",
    "prntstat_12",
    "prntstat_13",
    "prntstat_14",
    "prntstat_15",
    "not_asked",
    "parental_resp_y",
    "children",
    "children_full_time",
    "children_part_time",
    "children_pr_held",
    "young_carers",
    "children_cp_plan",
    "children_looked_after",
)

#: the table by local authority's measures, in the collector's order (collector/reports.py LA_MEASURES)
LA_MEASURE_COLUMNS: tuple[str, ...] = ("returns", "not_asked", "parents", "children")
#: the local authority of a return or child that has none (collector/reports.py UNKNOWN_LA)
UNKNOWN_LOCAL_AUTHORITY = "unknown"

DERIVED_TABLES: tuple[tuple[str, str], ...] = (
    (
        "returns",
        """
        SELECT r.return_key, p.ods_code, substr(b.reporting_period_end, 1, 7) AS reporting_month,
               TRY_CAST(substr(b.reporting_period_end, 1, 10) AS DATE) AS reporting_date,
               r.parental_status, m.prntstat, r.not_asked, TRY_CAST(r.date_asked AS DATE) AS date_asked,
               r.asked_by, r.status_source, b.legal_basis, r.local_authority, e.team_type,
               r.children_in_household, coalesce(c.children_listed, 0) AS children_listed,
               CASE WHEN coalesce(c.pr_y, 0) > 0 THEN 'Y'
                    WHEN r.parental_status = 'not-a-parent'
                         OR (coalesce(c.children_listed, 0) > 0 AND coalesce(c.pr_unk, 0) = 0) THEN 'N'
                    ELSE 'U' END AS parental_resp,
               r.expecting_child, r.parent_pseudonym
        FROM national_return r
        LEFT JOIN (SELECT return_key, min(reporting_period_end) AS reporting_period_end,
                          min(legal_basis) AS legal_basis
                   FROM return_bundle GROUP BY return_key) b
               ON b.return_key = r.return_key
        LEFT JOIN (SELECT DISTINCT provider_key, ods_code FROM reporting_provider) p
               ON p.provider_key = r.provider_key
        LEFT JOIN prntstat_map m ON m.parental_status = r.parental_status
        LEFT JOIN (SELECT return_key, count(*) AS children_listed,
                          count(*) FILTER (WHERE pr_held = 'Y') AS pr_y,
                          count(*) FILTER (WHERE pr_held = 'UNK' OR pr_held IS NULL) AS pr_unk
                   FROM dependent_child GROUP BY return_key) c
               ON c.return_key = r.return_key
        LEFT JOIN (SELECT return_key, min(team_type) AS team_type
                   FROM mental_health_episode GROUP BY return_key) e
               ON e.return_key = r.return_key
        """,
    ),
    (
        "children",
        f"""
        SELECT *, {_AGE_BAND_CASE} AS age_band FROM (
            SELECT c.*, r.ods_code, r.reporting_month, r.reporting_date,
                   year(r.reporting_date) - year({_BIRTH}) - CASE
                       WHEN month(r.reporting_date) < month({_BIRTH}) OR (
                           month(r.reporting_date) = month({_BIRTH}) AND day(r.reporting_date) < day({_BIRTH})
                       ) THEN 1 ELSE 0 END AS age_years
            FROM dependent_child c
            JOIN returns r ON r.return_key = c.return_key
        ) aged
        """,
    ),
    (
        "data_quality",
        """
        SELECT r.return_key, r.ods_code, r.reporting_month, count(q.child_key) AS children,
               count(*) FILTER (WHERE q.nhs_number_missing) AS children_without_nhs_number,
               count(*) FILTER (WHERE q.pr_unknown) AS pr_unknown,
               count(*) FILTER (WHERE q.residence_unknown) AS residence_unknown,
               count(*) FILTER (WHERE q.young_carer_unknown) AS young_carer_unknown,
               count(*) FILTER (WHERE q.help_not_known) AS help_not_known
        FROM returns r LEFT JOIN child_data_quality q ON q.return_key = r.return_key
        GROUP BY r.return_key, r.ods_code, r.reporting_month
        """,
    ),
    (
        "report_counts",
        """
        SELECT r.ods_code AS ods, r.reporting_month AS month,
               count(*) AS returns,
               count(*) FILTER (WHERE r.prntstat IN ('11', '12', '13')) AS parents,
               count(*) FILTER (WHERE r.prntstat = '11') AS prntstat_11,
               count(*) FILTER (WHERE r.prntstat = '12') AS prntstat_12,
               count(*) FILTER (WHERE r.prntstat = '13') AS prntstat_13,
               count(*) FILTER (WHERE r.prntstat = '14') AS prntstat_14,
               count(*) FILTER (WHERE r.prntstat = '15') AS prntstat_15,
               count(*) FILTER (WHERE r.parental_status = 'not-asked') AS not_asked,
               count(*) FILTER (WHERE r.parental_resp = 'Y') AS parental_resp_y,
               coalesce(sum(c.children), 0) AS children,
               coalesce(sum(c.full_time), 0) AS children_full_time,
               coalesce(sum(c.part_time), 0) AS children_part_time,
               coalesce(sum(c.pr_held), 0) AS children_pr_held,
               coalesce(sum(c.young_carers), 0) AS young_carers,
               coalesce(sum(c.cp_plan), 0) AS children_cp_plan,
               coalesce(sum(c.looked_after), 0) AS children_looked_after
        FROM returns r
        LEFT JOIN (
            SELECT return_key, count(*) AS children,
                   count(*) FILTER (WHERE residence = 'full-time') AS full_time,
                   count(*) FILTER (WHERE residence = 'part-time') AS part_time,
                   count(*) FILTER (WHERE pr_held = 'Y') AS pr_held,
                   count(*) FILTER (WHERE young_carer = 'Y') AS young_carers,
                   count(*) FILTER (WHERE help_child_protection_plan) AS cp_plan,
                   count(*) FILTER (WHERE help_looked_after) AS looked_after
            FROM dependent_child GROUP BY return_key
        ) c ON c.return_key = r.return_key
        GROUP BY r.ods_code, r.reporting_month
        """,
    ),
    (
        "report_counts_by_la",
        # Returns count under the patient's local authority, children under their own or else the patient's
        # (as the collector stores them); per provider too, so one provider's own table can be published.
        f"""
        SELECT ods, la, month, sum(returns) AS returns, sum(not_asked) AS not_asked,
               sum(parents) AS parents, sum(children) AS children
        FROM (
            SELECT r.ods_code AS ods,
                   coalesce(nullif(r.local_authority, ''), '{UNKNOWN_LOCAL_AUTHORITY}') AS la,
                   r.reporting_month AS month, 1 AS returns,
                   CASE WHEN r.parental_status = 'not-asked' THEN 1 ELSE 0 END AS not_asked,
                   CASE WHEN r.prntstat IN ('11', '12', '13') THEN 1 ELSE 0 END AS parents, 0 AS children
            FROM returns r
            UNION ALL
            SELECT r.ods_code AS ods,
                   coalesce(nullif(c.local_authority, ''), nullif(r.local_authority, ''),
                            '{UNKNOWN_LOCAL_AUTHORITY}') AS la,
                   r.reporting_month AS month, 0 AS returns, 0 AS not_asked, 0 AS parents, 1 AS children
            FROM dependent_child c
            JOIN returns r ON r.return_key = c.return_key
        ) counted
        GROUP BY ods, la, month
        """,
    ),
)

#: returns whose provider is not in the export: counted by ODS they cannot be, so materialise refuses them
UNRESOLVED_PROVIDERS = "SELECT count(*) FROM returns WHERE ods_code IS NULL"
