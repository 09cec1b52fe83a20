//! What a resource type accepts and produces: the attribute names of the
//! Terraform AWS provider, which of them are required, computed, force a
//! replacement, or hold secrets.

/// The type of an attribute value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ty {
    String,
    Number,
    Bool,
    /// An ordered list of strings.
    ListOfString,
    /// An unordered set of strings: compared sorted.
    SetOfString,
    /// A map of strings (tags).
    MapOfString,
    /// A string that holds a JSON document (IAM policies): compared normalized
    /// and shown as a line diff.
    Json,
}

/// Who sets an attribute.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Presence {
    /// The configuration must set it.
    Required,
    /// The configuration may set it; when it does not, the default (if any) applies.
    Optional,
    /// The configuration may set it; when it does not, AWS picks a value and
    /// gantry keeps whatever AWS has (no diff).
    OptionalComputed,
    /// Only AWS sets it (ids, ARNs).
    Computed,
}

/// One attribute of a resource or of a nested block.
#[derive(Clone, Debug)]
pub struct Attr {
    pub name: &'static str,
    pub ty: Ty,
    pub presence: Presence,
    /// Changing it replaces the resource.
    pub force_new: bool,
    /// Never shown or stored; state keeps a keyed hash.
    pub sensitive: bool,
    /// Used when the configuration leaves an `Optional` attribute unset.
    pub default: Option<serde_json::Value>,
    /// A computed attribute whose value changes on every update (SSM `version`).
    pub changes_on_update: bool,
}

impl Attr {
    fn new(name: &'static str, ty: Ty, presence: Presence) -> Attr {
        Attr { name, ty, presence, force_new: false, sensitive: false, default: None, changes_on_update: false }
    }
    pub fn required(name: &'static str, ty: Ty) -> Attr {
        Attr::new(name, ty, Presence::Required)
    }
    pub fn optional(name: &'static str, ty: Ty) -> Attr {
        Attr::new(name, ty, Presence::Optional)
    }
    pub fn optional_computed(name: &'static str, ty: Ty) -> Attr {
        Attr::new(name, ty, Presence::OptionalComputed)
    }
    pub fn computed(name: &'static str, ty: Ty) -> Attr {
        Attr::new(name, ty, Presence::Computed)
    }
    pub fn force_new(mut self) -> Attr {
        self.force_new = true;
        self
    }
    pub fn sensitive(mut self) -> Attr {
        self.sensitive = true;
        self
    }
    pub fn default(mut self, value: impl Into<serde_json::Value>) -> Attr {
        self.default = Some(value.into());
        self
    }
    pub fn changes_on_update(mut self) -> Attr {
        self.changes_on_update = true;
        self
    }
    pub fn is_settable(&self) -> bool {
        self.presence != Presence::Computed
    }
}

/// A nested block such as `attribute { name = "id" type = "S" }`. Its value is
/// stored as a list of objects, like Terraform's state.
#[derive(Clone, Debug)]
pub struct BlockSchema {
    pub name: &'static str,
    pub attrs: Vec<Attr>,
    /// Blocks nested inside this one (`rule { apply_server_side_encryption_by_default { ... } }`).
    pub blocks: Vec<BlockSchema>,
    pub min_items: usize,
    pub max_items: Option<usize>,
    /// Order does not matter (compared sorted).
    pub is_set: bool,
    pub force_new: bool,
    /// When the block is absent from the configuration, keep what AWS has
    /// instead of planning its removal.
    pub computed_when_absent: bool,
}

impl BlockSchema {
    pub fn list(name: &'static str, attrs: Vec<Attr>) -> BlockSchema {
        BlockSchema {
            name,
            attrs,
            blocks: Vec::new(),
            min_items: 0,
            max_items: None,
            is_set: false,
            force_new: false,
            computed_when_absent: false,
        }
    }
    pub fn set(name: &'static str, attrs: Vec<Attr>) -> BlockSchema {
        BlockSchema { is_set: true, ..BlockSchema::list(name, attrs) }
    }
    pub fn single(name: &'static str, attrs: Vec<Attr>) -> BlockSchema {
        BlockSchema { max_items: Some(1), ..BlockSchema::list(name, attrs) }
    }
    pub fn nested(mut self, blocks: Vec<BlockSchema>) -> BlockSchema {
        self.blocks = blocks;
        self
    }
    pub fn min(mut self, n: usize) -> BlockSchema {
        self.min_items = n;
        self
    }
    pub fn force_new(mut self) -> BlockSchema {
        self.force_new = true;
        self
    }
    pub fn computed_when_absent(mut self) -> BlockSchema {
        self.computed_when_absent = true;
        self
    }
    pub fn attr(&self, name: &str) -> Option<&Attr> {
        self.attrs.iter().find(|a| a.name == name)
    }
}

/// An argument or block of the provider's schema that gantry deliberately
/// does not take, and why. A stack that sets it gets "not supported by
/// gantry: REASON" at validate instead of "unsupported argument".
#[derive(Clone, Debug)]
pub struct Omission {
    /// Dotted path from the resource body: `timeouts`, `rule.filter.x`.
    pub path: &'static str,
    pub reason: &'static str,
    /// A value that asks for what gantry does anyway (often the provider's
    /// default): it is accepted, as null is.
    pub accepts: Option<serde_json::Value>,
}

impl Omission {
    /// True when a configuration's value for it changes nothing.
    pub fn is_inert(&self, value: &crate::value::Value) -> bool {
        let plain = value.peel();
        plain.is_null() || (plain.is_known() && self.accepts.as_ref().is_some_and(|d| plain.to_json() == *d))
    }
}

/// The schema of a resource type or data source.
#[derive(Clone, Debug)]
pub struct Schema {
    pub type_name: &'static str,
    pub attrs: Vec<Attr>,
    pub blocks: Vec<BlockSchema>,
    /// Takes `tags`: gantry adds its ownership tags and computes `tags_all`.
    pub taggable: bool,
    /// Provider arguments and blocks left out on purpose.
    pub omitted: Vec<Omission>,
}

impl Schema {
    pub fn new(type_name: &'static str, attrs: Vec<Attr>) -> Schema {
        Schema { type_name, attrs, blocks: Vec::new(), taggable: false, omitted: Vec::new() }
    }
    /// Records a provider argument or block (dotted `path`) that gantry
    /// does not take, with the AWS or emulator behaviour that is the reason.
    pub fn omit(mut self, path: &'static str, reason: &'static str) -> Schema {
        self.omitted.push(Omission { path, reason, accepts: None });
        self
    }
    /// Like `omit`, for an argument one of whose values (`accepts`) asks
    /// for what gantry does anyway: that value is accepted.
    pub fn omit_accepting(
        mut self,
        path: &'static str,
        accepts: impl Into<serde_json::Value>,
        reason: &'static str,
    ) -> Schema {
        self.omitted.push(Omission { path, reason, accepts: Some(accepts.into()) });
        self
    }
    pub fn omission(&self, path: &str) -> Option<&Omission> {
        self.omitted.iter().find(|o| o.path == path)
    }
    pub fn blocks(mut self, blocks: Vec<BlockSchema>) -> Schema {
        self.blocks = blocks;
        self
    }
    /// Adds `tags` (optional) and `tags_all` (computed).
    pub fn taggable(mut self) -> Schema {
        self.taggable = true;
        self.attrs.push(Attr::optional("tags", Ty::MapOfString));
        self.attrs.push(Attr::computed("tags_all", Ty::MapOfString));
        self
    }
    pub fn attr(&self, name: &str) -> Option<&Attr> {
        self.attrs.iter().find(|a| a.name == name)
    }
    pub fn block(&self, name: &str) -> Option<&BlockSchema> {
        self.blocks.iter().find(|b| b.name == name)
    }
    pub fn required_attrs(&self) -> impl Iterator<Item = &Attr> {
        self.attrs.iter().filter(|a| a.presence == Presence::Required)
    }
    /// Names a user may set, for "did you mean" style errors.
    pub fn settable_names(&self) -> Vec<&'static str> {
        let mut names: Vec<_> = self.attrs.iter().filter(|a| a.is_settable()).map(|a| a.name).collect();
        names.extend(self.blocks.iter().map(|b| b.name));
        names
    }
}
