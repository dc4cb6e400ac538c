"""A flat export's features for a trained model: mapped without the label, every row accounted for, worded from
the column names in English and German, with the creation moment's month and weekday."""

from __future__ import annotations

import numpy as np
import pytest

from leadml.config import Config, FeaturesConfig
from leadml.features.catalog import column_words
from leadml.features.flat_catalog import CREATION_FEATURES, flat_catalog
from leadml.features.flat_export import map_flat
from leadml.reasons.words import localise, say
from tests.flat_export import flat_export, mapping_section

WITH_DATE = {"lead_id": "Lead ID", "source": "Signup Channel", "country": "Nation", "created_at": "Created"}


def _mapping(**overrides: object):
    return Config.model_validate({"mapping": mapping_section(**overrides)}).mapping


@pytest.fixture(scope="module")
def current():
    """A file of current leads: the label and the excluded column are not in it."""
    frame, truth = flat_export(n=600, seed=11)
    return frame.drop(columns=["Outcome", "Sales Status"]), truth


def test_current_leads_map_without_the_label_and_every_row_is_accounted_for(current) -> None:
    raw, truth = current
    leads = map_flat(raw, _mapping(), table="current.csv", labelled=False, training=False)
    assert leads.read == len(raw) == truth.rows + 3
    assert leads.read == len(leads.lead_id) + leads.duplicates + len(leads.rejects)
    assert leads.duplicates == 3
    rejected = leads.rejects["reason"].value_counts().to_dict()
    assert rejected == {"lead id repeated with different values": 2, "lead id missing": 1}  # no label to reject by
    repeated = leads.rejects.loc[leads.rejects["reason"].str.startswith("lead id repeated"), "lead_id"]
    assert repeated.nunique() == 1 and not leads.lead_id.isin(repeated).any()
    assert leads.lead_id.is_unique and leads.labels.isna().all()
    assert "paper_mail" in leads.features  # one value only, kept: the model picks its own features
    assert "Outcome" not in leads.ignored and "Sales Status" not in leads.ignored


def test_training_needs_the_label() -> None:
    raw, _ = flat_export(n=300, seed=1)
    with pytest.raises(ValueError, match="training needs labelled leads"):
        map_flat(raw, _mapping(), labelled=False)


def test_a_labelled_file_for_a_trained_model_keeps_its_single_valued_features() -> None:
    raw, _ = flat_export(n=300, seed=2)
    leads = map_flat(raw.drop(columns=["Sales Status"]), _mapping(), table="labelled.csv", training=False)
    assert "paper_mail" in leads.features and set(leads.labels.unique()) == {0, 1}


def test_column_names_become_words() -> None:
    assert column_words("TotalVisits") == "Total Visits"
    assert column_words("page_views  per_visit") == "page views per visit"
    assert column_words("Lead Origin") == "Lead Origin"


def test_mapped_columns_are_worded_from_their_names_in_english_and_german() -> None:
    catalog = flat_catalog(_mapping(), FeaturesConfig())
    assert [f.name for f in catalog] == ["country", "region", "lead_source", "role", "visits", "minutes_on_site",
                                         "newsletter", "paper_mail"]
    english = {f.name: f for f in localise(catalog, "en")}
    german = {f.name: f for f in localise(catalog, "de")}
    assert say(english["role"], "Manager") == "Role: Manager"
    assert say(english["minutes_on_site"], 1234.0) == "Minutes On Site: 1,234"
    assert say(english["visits"], 2.5) == "Visits: 2.5"
    assert say(english["newsletter"], 1.0) == "Newsletter: yes" and say(english["newsletter"], 0.0) == "Newsletter: no"
    assert say(english["visits"], np.nan) == "Visits: not given"
    assert say(english["role"], "unknown") == "Role: not given"
    assert say(german["minutes_on_site"], 1234.5) == "Minutes On Site: 1.234,5"
    assert say(german["newsletter"], 1.0) == "Newsletter: ja" and say(german["role"], np.nan) == "Role: nicht angegeben"
    assert english["country"].template == "Country: {value}"  # contract features keep the catalog's words
    assert {f.family for f in catalog} <= {"fit", "engagement", "budget"}  # sub-scores add up to the raw score


def test_a_brace_in_a_column_name_is_text() -> None:
    mapping = _mapping(features={"Visits {web}": {"family": "engagement", "type": "numeric"}})
    feature = {f.name: f for f in flat_catalog(mapping, FeaturesConfig())}["visits_web"]
    assert say(feature, 3.0) == "Visits {web}: 3"


def test_a_mapped_creation_date_gives_the_month_and_weekday_known_at_creation() -> None:
    raw, _ = flat_export(n=400, seed=3)
    mapping = _mapping(columns=WITH_DATE)
    leads = map_flat(raw, mapping, table="export.csv")
    assert set(CREATION_FEATURES) <= set(leads.features) <= {f.name for f in flat_catalog(mapping, FeaturesConfig())}
    created = leads.created_at
    assert (leads.features["created_month"] == created.dt.month_name()).all()
    assert (leads.features["created_weekday"] == created.dt.day_name()).all()
    assert set(CREATION_FEATURES) <= set(leads.categorical)
    german = {f.name: f for f in localise(flat_catalog(mapping, FeaturesConfig()), "de")}
    assert say(german["created_month"], "March") == "Im März als Lead angelegt"
    assert say(german["created_weekday"], "Monday") == "An einem Montag als Lead angelegt"
