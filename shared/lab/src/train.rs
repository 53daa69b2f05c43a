//! Training the identity-resolution model, and reading labelled CSV files for it: lab code that
//! `cmpctl resolve` and the tests use and no function links.
use cmp_core::resolve::compare::{self, FIELDS};
use cmp_core::resolve::engine::{self, Engine};
use cmp_core::resolve::model::{Model, TfTable};
use cmp_core::resolve::normalize::{self, ColumnMap, Person};
use cmp_core::resolve::{block, par_map};
use std::collections::HashMap;



#[cfg(test)]
mod tests {
    use super::*;
    use crate::generate;

    #[test]
    fn csv_is_read_through_the_column_mapping() {
        let data = "id,first,last,born\nr1,Bill,Jones,19700102\n";
        let map = ColumnMap::default()
            .with_overrides("id=id,given=first,family=last,dob=born,street_number=,address=,city=,postcode=,state=,national_id=,email=,phone=")
            .unwrap();
        let ds = read_csv(data.as_bytes(), &map, None).unwrap();
        assert_eq!(ds.ids, vec!["r1"]);
        assert_eq!(ds.people[0].given_canon(), "william");
        assert!(read_csv(data.as_bytes(), &ColumnMap::default(), None).is_err());
    }

    #[test]
    fn training_on_generated_people_learns_that_agreement_is_evidence() {
        let g = generate::generate(&generate::Options { people: 1500, seed: 11, ..Default::default() });
        let people: Vec<Person> = g.rows.iter().map(|r| normalize::person(r.fields())).collect();
        let model = train(&people, Model::default(), &TrainOptions { random_pairs: 50_000, ..Default::default() });
        model.validate().unwrap();
        let w = model.level_weights();
        for (f, wf) in w.iter().enumerate() {
            assert!(wf[1] > 2.0, "exact agreement on {} is evidence: {wf:?}", compare::LEVELS[f].0);
            let last = model.fields[f].m.len();
            assert!(wf[last] < 0.0, "disagreement on {} is evidence against: {wf:?}", compare::LEVELS[f].0);
        }
        assert!(model.prior > 0.0 && model.prior < 0.9);
        assert!(!model.tf.family.values.is_empty());
    }
}
