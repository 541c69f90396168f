"""Bad input gets a clear error from our hierarchy, naming the columns; never a silent "no drift"."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import mlops_kit as mk


@pytest.fixture
def reference(make_customers) -> pd.DataFrame:
    return make_customers(3000, seed=1)


@pytest.fixture
def current(make_customers) -> pd.DataFrame:
    return make_customers(2000, seed=2)


def test_missing_columns_are_named(reference, current):
    mon = mk.Monitor(reference)
    with pytest.raises(mk.SchemaError, match=r"missing monitored columns \['age', 'plan'\]"):
        mon.check(current.drop(columns=["age", "plan"]))


def test_wrong_dtypes_are_named(reference, current):
    bad = current.assign(age=current.age.astype(str), member=current.member.astype(int))
    with pytest.raises(mk.SchemaError) as info:
        mk.Monitor(reference).check(bad)
    assert "'age': reference float, current string" in str(info.value)
    assert "'member': reference bool, current int" in str(info.value)


def test_compatible_dtypes_are_accepted(reference, current):
    cur = current.assign(visits=current.visits.astype(float), plan=current.plan.astype("category"))
    rep = mk.Monitor(reference).check(cur)
    assert not rep.columns["visits"].drifted
    assert not rep.columns["plan"].drifted


@pytest.mark.parametrize("data", [pd.DataFrame(), "not a frame", None, np.zeros((3, 3))])
def test_empty_or_foreign_current_data_is_refused(reference, data):
    with pytest.raises(mk.SchemaError):
        mk.Monitor(reference, columns=["age"]).check(data)


def test_empty_current_rows_are_refused(reference, current):
    with pytest.raises(mk.SchemaError, match="empty"):
        mk.Monitor(reference).check(current.iloc[:0])


def test_an_all_null_reference_column_is_refused_at_construction(reference):
    with pytest.raises(mk.SchemaError, match=r"\['income'\] hold only nulls"):
        mk.Monitor(reference.assign(income=np.nan))
    mk.Monitor(reference.assign(income=np.nan), columns=["age"])  # fine when left out


def test_an_all_null_current_column_is_drift_with_a_reason(reference, current):
    rep = mk.Monitor(reference).check(current.assign(income=np.nan, plan=None))
    for column in ("income", "plan"):
        col = rep.columns[column]
        assert col.drifted
        assert col.statistic is None
        assert {"undefined", "nulls"} <= set(col.reasons)
        assert "null" in col.note
        assert col.null_rate_current == 1.0


def test_a_null_rate_change_is_a_drift_signal_of_its_own(reference, current):
    cur = current.copy()
    cur.loc[cur.sample(frac=0.3, random_state=0).index, "age"] = np.nan
    col = mk.Monitor(reference).check(cur).columns["age"]
    assert col.reasons == ("nulls",)
    assert col.drifted
    assert not col.distribution_drifted
    assert col.null_rate_reference == 0.0
    assert col.null_rate_current == pytest.approx(0.3, abs=0.01)
    h = 2 * np.arcsin(np.sqrt(col.null_rate_current))  # Cohen's h from 0% nulls
    assert col.null_effect_size == pytest.approx(h)
    assert col.null_p_value < 1e-100  # significant, and h >= 0.1


def test_extra_columns_are_ignored_and_listed(reference, current):
    rep = mk.Monitor(reference).check(
        current.assign(request_id=range(len(current)), ts=pd.Timestamp("2025-01-01"))
    )
    assert rep.ignored_columns == ("request_id", "ts")
    assert "request_id" not in rep.columns


def test_unseen_categories_are_reported_by_name_and_flag_from_one_percent(reference, current):
    mon = mk.Monitor(reference)
    few = current.copy()
    few.loc[few.index[:10], "plan"] = "enterprise"  # 0.5%
    col = mon.check(few).columns["plan"]
    assert col.unseen == {"enterprise": 10}
    assert not col.drifted
    many = current.copy()
    many.loc[many.index[:30], "plan"] = "enterprise"  # 1.5%
    col = mon.check(many).columns["plan"]
    assert col.unseen == {"enterprise": 30}
    assert col.reasons == ("unseen",)
    assert mk.Monitor(reference, unseen_threshold=0.02).check(many).columns["plan"].drifted is False


def test_mismatched_target_and_prediction_types_are_refused(reference):
    ref = reference.assign(label=np.where(reference.churned == 1, "yes", "no"))
    with pytest.raises(mk.SchemaError, match=r"Target 'label' holds string labels but prediction 'score'"):
        mk.Monitor(ref, target="label", prediction="score")
    reg = reference.assign(pred=reference.plan)
    with pytest.raises(mk.SchemaError, match=r"Target 'income' is numeric .* prediction 'pred' holds string"):
        mk.Monitor(reg, target="income", prediction="pred")


def test_scores_out_of_range_for_a_binary_target_are_refused(reference, current):
    mon = mk.Monitor(reference, target="churned", prediction="score")
    with pytest.raises(mk.SchemaError, match=r"scores in \[0, 1\]"):
        mon.check(current.assign(score=current.score * 3))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"method": "magic"}, "Unknown drift method 'magic'"),
        ({"method": {"plan": "ks"}}, "does not apply to string column 'plan'"),
        ({"method": {"nope": "ks"}}, r"names columns \['nope'\] that are not monitored"),
        ({"threshold": 0.01}, "ambiguous with method='auto'"),
        ({"threshold": {"wat": 0.1}}, "neither monitored columns nor methods"),
        ({"threshold": {"ks": -1}}, "positive number"),
        ({"correction": "holm"}, "Unknown correction 'holm'"),
        ({"drift_share": 0}, "between 0 and 1"),
        ({"drift_share": 1.5}, "between 0 and 1"),
        ({"tolerance": "a lot"}, "tolerance must be a number"),
        ({"target": "nope"}, "target column 'nope' is not in the reference"),
        ({"target": "churned", "prediction": "churned"}, "must be different"),
        ({"task": "ranking"}, "task must be"),
        ({"columns": "age"}, "list of column names"),
    ],
)
def test_bad_options_raise_config_errors(reference, kwargs, match):
    with pytest.raises(mk.ConfigError, match=match):
        mk.Monitor(reference, **kwargs)


def test_unknown_columns_are_schema_errors(reference):
    with pytest.raises(mk.SchemaError, match=r"Columns \['nope'\] are not in the reference"):
        mk.Monitor(reference, columns=["age", "nope"])


def test_bad_names_and_references_are_refused_before_storage(reference):
    with pytest.raises(mk.InvalidNameError):
        mk.Monitor(reference, name="../escape")
    with pytest.raises(mk.ConfigError, match="DatasetVersion, a pandas DataFrame or a Profile"):
        mk.Monitor([1, 2, 3])
    with pytest.raises(mk.SchemaError, match="empty"):
        mk.Monitor(reference.iloc[:0])


def test_raw_data_methods_need_a_raw_reference(reference):
    with pytest.raises(mk.ConfigError, match="need raw reference values, but the reference is a Profile"):
        mk.Monitor(mk.Profile.of(reference), method={"age": "anderson"})


def test_a_version_from_another_storage_says_where_to_look(reference, current):
    version = mk.Dataset("customers", storage=mk.MemoryStorage()).save(reference)
    mon = mk.Monitor(version, columns=["age"], method="ks", storage=mk.MemoryStorage())
    with pytest.raises(mk.NotFoundError, match=r"customers:1 is not in memory://.*storage=\.\.\."):
        mon.check(current)


def test_ztest_on_a_column_that_gained_a_category_reports_it_as_unseen(reference, current):
    ref = reference.assign(member=np.where(reference.member, "yes", "no"))
    cur = current.assign(member=np.where(current.member, "yes", "no"))
    cur.loc[cur.index[:5], "member"] = "maybe"
    col = mk.Monitor(ref, method={"member": "ztest"}).check(cur).columns["member"]
    assert col.unseen == {"maybe": 5}
    assert not col.drifted


def test_reference_columns_left_out_are_never_read(reference, current):
    odd = reference.assign(payload=[{"any": "thing"}] * len(reference))  # not a supported column type
    with pytest.raises(mk.SchemaError, match="'payload'"):
        mk.Monitor(odd)
    rep = mk.Monitor(odd, columns=["age"]).check(current.assign(payload=None))
    assert list(rep.columns) == ["age"]
    assert rep.ignored_columns[-1] == "payload"


@pytest.mark.parametrize("rows", [1, 5])
def test_a_tiny_window_says_not_enough_data_instead_of_ok(rows):
    rng = np.random.default_rng(0)
    ref = pd.DataFrame({"x": rng.normal(size=2000), "plan": rng.choice(["a", "b"], 2000)})
    report = mk.Monitor(ref).check(ref.iloc[:rows])
    for col in report.columns.values():
        assert col.note.startswith(f"not enough data: {rows} current value"), col.note
    assert "not enough data" in report.summary() and "  ok" not in report.summary()
    assert all(not c.note for c in mk.Monitor(ref).check(ref.iloc[:50]).columns.values())
