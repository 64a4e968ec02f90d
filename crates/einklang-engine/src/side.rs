//! One side of a sync step: a connector and its mapping for one entity,
//! with what the step does with it (read it, write it, or both) and how
//! each mapped field takes part ([`FieldRole`]), narrowed by what the
//! connector declares writable.

use einklang_connectors::Capabilities;
use einklang_core::{EntitySchema, FieldRole, Fields, Mapping, NormaliseContext};
use std::collections::BTreeMap;

/// A connector × entity in one step.
#[derive(Clone)]
pub(crate) struct Side<'c> {
    /// Connector name.
    pub name: &'c str,
    /// Its mapping for the entity.
    pub mapping: &'c Mapping,
    /// The entity.
    pub schema: &'c EntitySchema,
    /// Normalisation settings.
    pub norm: NormaliseContext,
    /// How each mapped field takes part.
    pub roles: BTreeMap<String, FieldRole>,
    /// What the connector can do.
    pub caps: Capabilities,
    /// The step reads this connector.
    pub pulls: bool,
    /// The step writes this connector.
    pub pushes: bool,
    /// How the connector names a create's record after its marker
    /// ([`einklang_connectors::Connector::named_after_marker`]).
    pub named_after_marker: Option<(String, String)>,
}

impl<'c> Side<'c> {
    /// Build a side; fields whose raw fields the connector cannot write do not push.
    pub fn new(
        mapping: &'c Mapping,
        schema: &'c EntitySchema,
        norm: NormaliseContext,
        caps: Capabilities,
        (pulls, pushes): (bool, bool),
    ) -> Self {
        let mut roles = mapping.field_roles(schema);
        if let Some(writable) = &caps.writable {
            for rule in &mapping.fields {
                if rule.source.top_keys().iter().any(|k| !writable.contains(k)) {
                    if let Some(role) = roles.get_mut(&rule.target) {
                        role.pushes = false;
                    }
                }
            }
        }
        if !caps.write {
            roles.values_mut().for_each(|r| r.pushes = false);
        }
        Side {
            name: &mapping.connector,
            mapping,
            schema,
            norm,
            roles,
            caps,
            pulls,
            pushes,
            named_after_marker: None,
        }
    }

    /// Leave `fields` out of every write to this connector: it did not keep
    /// them as written (`einklang_store::IgnoredFields`). They are still
    /// read.
    pub fn leave_out(&mut self, fields: &[String]) {
        for f in fields {
            if let Some(role) = self.roles.get_mut(f) {
                role.pushes = false;
            }
        }
    }

    /// The same, with the fields the store says the connector does not keep.
    pub fn leave_out_not_kept(
        &mut self,
        store: &mut dyn einklang_store::HubStore,
        tenant: &str,
    ) -> Result<(), einklang_store::StoreError> {
        let not_kept = store.ignored_fields(tenant, self.name, &self.schema.name)?;
        let fields: Vec<String> = not_kept.into_iter().map(|f| f.field).collect();
        self.leave_out(&fields);
        Ok(())
    }

    /// The hub record as this connector holds it after a push: only the
    /// fields the connector is written.
    pub fn project(&self, values: &Fields) -> Fields {
        let mut p = self.mapping.project(self.schema, &self.norm, values);
        p.retain(|k, _| self.roles.get(k).is_some_and(|r| r.pushes));
        p
    }

    /// `base` restricted to the fields this connector is written.
    pub fn pushable<'f>(&self, base: &'f Fields) -> BTreeMap<&'f String, &'f einklang_core::Value> {
        base.iter()
            .filter(|(k, _)| self.roles.get(*k).is_some_and(|r| r.pushes))
            .collect()
    }

    /// Does the hub hold something this connector has not got?
    pub fn hub_ahead(&self, values: &Fields, base: &Fields) -> bool {
        let projected = self.project(values);
        projected.iter().collect::<BTreeMap<_, _>>() != self.pushable(base)
    }
}
