//! `aws_dynamodb_table`. Tables change state asynchronously (CREATING,
//! UPDATING), and UpdateTable accepts one kind of change at a time, so
//! create and update wait for ACTIVE between steps.

use std::sync::LazyLock;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, CreateGlobalSecondaryIndexAction, DeleteGlobalSecondaryIndexAction,
    GlobalSecondaryIndex, GlobalSecondaryIndexUpdate, IndexStatus, KeySchemaElement, KeyType, LocalSecondaryIndex,
    PointInTimeRecoverySpecification, PointInTimeRecoveryStatus, Projection, ProjectionType, ProvisionedThroughput,
    ScalarAttributeType, StreamSpecification, StreamViewType, TableClass, TableDescription, TableStatus, Tag,
    TimeToLiveSpecification, TimeToLiveStatus, UpdateGlobalSecondaryIndexAction,
};
use futures::future::try_join_all;
use serde_json::Value;

use super::dynamodb_sse::{self, Sse};
use super::support::{
    block_items, built, complete, copy_attrs, create_tags, found, get_bool, get_i64, get_nonempty_str, get_str,
    get_strings, get_tags, one_block, require_str, single_block, tag_changes, tags_to_json, visible_tags, wait_for,
};
use super::timeouts;
use super::{Attr, Attrs, BlockSchema, Created, ReadCtx, ReadRequest, ResourceType, Schema, Ty};
use crate::aws::{AwsCtx, ClassifyExt, ProviderError, Tags};

const TYPE_NAME: &str = "aws_dynamodb_table";
const PROVISIONED: &str = "PROVISIONED";
const PAY_PER_REQUEST: &str = "PAY_PER_REQUEST";
// The Terraform provider's default timeouts.
const CREATE_TIMEOUT: Duration = Duration::from_secs(30 * 60);
const UPDATE_TIMEOUT: Duration = Duration::from_secs(60 * 60);
const DELETE_TIMEOUT: Duration = Duration::from_secs(10 * 60);

static SCHEMA: LazyLock<Schema> = LazyLock::new(|| {
    Schema::new(
        TYPE_NAME,
        vec![
            Attr::computed("id", Ty::String),
            Attr::required("name", Ty::String).force_new(),
            Attr::optional("billing_mode", Ty::String).default(PROVISIONED),
            Attr::required("hash_key", Ty::String).force_new(),
            Attr::optional("range_key", Ty::String).force_new(),
            Attr::optional_computed("read_capacity", Ty::Number),
            Attr::optional_computed("write_capacity", Ty::Number),
            Attr::optional("stream_enabled", Ty::Bool).default(false),
            Attr::optional_computed("stream_view_type", Ty::String),
            Attr::optional("deletion_protection_enabled", Ty::Bool).default(false),
            Attr::optional_computed("table_class", Ty::String),
            Attr::computed("arn", Ty::String),
            Attr::computed("stream_arn", Ty::String),
            Attr::computed("stream_label", Ty::String),
        ],
    )
    .blocks(vec![
        BlockSchema::set("attribute", vec![Attr::required("name", Ty::String), Attr::required("type", Ty::String)])
            .min(1),
        BlockSchema::set(
            "global_secondary_index",
            vec![
                Attr::required("name", Ty::String),
                Attr::required("hash_key", Ty::String),
                Attr::optional("range_key", Ty::String),
                Attr::required("projection_type", Ty::String),
                Attr::optional("non_key_attributes", Ty::SetOfString),
                Attr::optional("read_capacity", Ty::Number),
                Attr::optional("write_capacity", Ty::Number),
            ],
        ),
        // Local indexes exist only from CreateTable on: any change replaces
        // the table, as in the provider.
        BlockSchema::set(
            "local_secondary_index",
            vec![
                Attr::required("name", Ty::String),
                Attr::required("range_key", Ty::String),
                Attr::required("projection_type", Ty::String),
                Attr::optional("non_key_attributes", Ty::ListOfString),
            ],
        )
        .force_new(),
        BlockSchema::single(
            "ttl",
            vec![
                Attr::optional_computed("attribute_name", Ty::String),
                Attr::optional("enabled", Ty::Bool).default(false),
            ],
        )
        .computed_when_absent(),
        BlockSchema::single("point_in_time_recovery", vec![Attr::required("enabled", Ty::Bool)]).computed_when_absent(),
        dynamodb_sse::block(),
        timeouts::block(&["create", "delete", "update"]),
    ])
    .omit(
        "replica",
        "a replica is a copy of the table in another region (a global table): gantry applies a stack in one \
         region, and moto's UpdateTable ignores ReplicaUpdates, so replication could neither be done nor tested; \
         declare the table in a stack per region, or manage the global table outside gantry",
    )
    .omit(
        "restore_source_name",
        "creates the table by restoring another table's backup (RestoreTableToPointInTime), a one-off job the \
         provider ignores afterwards; restore outside the stack and adopt the table with `gantry import`",
    )
    .omit("restore_source_table_arn", "see restore_source_name")
    .omit("restore_date_time", "see restore_source_name")
    .omit("restore_to_latest_time", "see restore_source_name")
    .omit("on_demand_throughput", "moto 5.1.22 ignores OnDemandThroughput, so the limits could not be tested")
    .omit("global_secondary_index.on_demand_throughput", "moto 5.1.22 ignores OnDemandThroughput (see there)")
    .omit(
        "point_in_time_recovery.recovery_period_in_days",
        "moto 5.1.22's UpdateContinuousBackups ignores RecoveryPeriodInDays (every table keeps 35 days), so the \
         setting could not be tested",
    )
    .omit(
        "import_table",
        "ImportTable fills a new table from S3 data in a one-off job, and the provider then ignores the block \
         for the table's life; gantry creates tables with CreateTable only. Run the import outside the stack \
         (aws dynamodb import-table) and adopt the table with `gantry import`",
    )
    .taggable()
});

pub struct DynamodbTable;

#[async_trait]
impl ResourceType for DynamodbTable {
    fn schema(&self) -> &Schema {
        &SCHEMA
    }

    fn id_from_config(&self, desired: &Attrs) -> Option<String> {
        get_nonempty_str(desired, "name").map(str::to_string)
    }

    async fn owner_tags_of(&self, aws: &AwsCtx, _id: &str, live: &Attrs) -> Result<Option<Tags>, ProviderError> {
        match get_nonempty_str(live, "arn") {
            Some(arn) => list_tags(aws, arn).await.map(Some),
            None => Ok(Some(Tags::new())),
        }
    }

    async fn read(&self, ctx: &ReadCtx<'_>, requests: &[ReadRequest]) -> Result<Vec<Option<Attrs>>, ProviderError> {
        let reads = requests.iter().map(|req| async move { found(read_one(ctx, req).await, &[]).map(Option::flatten) });
        try_join_all(reads).await
    }

    async fn create(&self, aws: &AwsCtx, desired: &Attrs, owner_tags: &Tags) -> Result<Created, ProviderError> {
        const CALL: &str = "dynamodb:CreateTable";
        let limit = timeouts::limit(desired, "create", CREATE_TIMEOUT);
        let name = require_str(desired, "name", TYPE_NAME)?;
        let hash_key = require_str(desired, "hash_key", TYPE_NAME)?;
        let provisioned = billing_mode(desired)? == PROVISIONED;
        check_on_demand_capacity(desired, &Attrs::new(), provisioned)?;
        let ttl = desired_ttl(desired)?;
        let pitr = desired_pitr(desired);

        let mut request = aws
            .dynamodb
            .create_table()
            .table_name(name)
            .billing_mode(BillingMode::from(if provisioned { PROVISIONED } else { PAY_PER_REQUEST }))
            .set_attribute_definitions(Some(attribute_definitions(desired)?))
            .key_schema(key(CALL, hash_key, KeyType::Hash)?)
            .deletion_protection_enabled(get_bool(desired, "deletion_protection_enabled").unwrap_or(false));
        if let Some(range_key) = get_nonempty_str(desired, "range_key") {
            request = request.key_schema(key(CALL, range_key, KeyType::Range)?);
        }
        if provisioned {
            request = request.provisioned_throughput(throughput(CALL, "", desired)?);
        }
        for gsi in gsis(desired) {
            gsi.validate()?;
            let mut index = GlobalSecondaryIndex::builder().index_name(&gsi.name).projection(gsi.projection());
            for key in gsi.key_schema(CALL)? {
                index = index.key_schema(key);
            }
            if provisioned {
                index = index.provisioned_throughput(gsi.throughput(CALL)?);
            }
            request = request.global_secondary_indexes(built(CALL, index.build())?);
        }
        for lsi in block_items(desired, "local_secondary_index") {
            request = request.local_secondary_indexes(local_index(CALL, hash_key, lsi)?);
        }
        if get_bool(desired, "stream_enabled") == Some(true) {
            let view_type = get_nonempty_str(desired, "stream_view_type").ok_or_else(|| {
                ProviderError::Invalid(format!(
                    "{TYPE_NAME}: \"stream_view_type\" is required when \"stream_enabled\" is true"
                ))
            })?;
            request = request.stream_specification(stream(CALL, true, Some(view_type))?);
        }
        if let Some(class) = get_nonempty_str(desired, "table_class") {
            request = request.table_class(TableClass::from(class));
        }
        if let Some(sse) = Sse::from_attrs(desired).filter(|s| s.enabled) {
            request = request.sse_specification(sse.spec());
        }
        for (k, v) in create_tags(desired, owner_tags) {
            request = request.tags(built(CALL, Tag::builder().key(k).value(v).build())?);
        }
        aws.count_call();
        request.send().await.classify(CALL)?;

        let mut table = wait_until_active(aws, name, limit).await?;
        if let Some(ttl) = ttl.as_ref().filter(|t| t.enabled) {
            update_ttl(aws, name, ttl).await?;
        }
        if pitr == Some(true) {
            update_pitr(aws, name, true).await?;
        }
        if ttl.as_ref().is_some_and(|t| t.enabled) || pitr == Some(true) {
            table = wait_until_active(aws, name, limit).await?;
        }
        let ttl_block = ttl.map(|t| t.to_block()).unwrap_or_else(|| Value::Array(Vec::new()));
        let pitr_block = pitr.map(pitr_block).unwrap_or_else(|| Value::Array(Vec::new()));
        let tags_all = tags_to_json(&get_tags(desired, "tags_all"));
        Ok(Created { id: name.to_string(), attrs: table_attrs(&table, desired, ttl_block, pitr_block, tags_all) })
    }

    async fn update(
        &self,
        aws: &AwsCtx,
        id: &str,
        prior: &Attrs,
        desired: &Attrs,
        owner_tags: &Tags,
    ) -> Result<Attrs, ProviderError> {
        const CALL: &str = "dynamodb:UpdateTable";
        let limit = timeouts::limit(desired, "update", UPDATE_TIMEOUT);
        let provisioned = billing_mode(desired)? == PROVISIONED;
        check_on_demand_capacity(desired, prior, provisioned)?;
        let billing_changed = get_str(prior, "billing_mode") != get_str(desired, "billing_mode");
        let desired_gsis = gsis(desired);
        for gsi in &desired_gsis {
            gsi.validate()?;
        }
        let prior_gsis = gsis(prior);
        let mut last: Option<TableDescription> = None;
        // A table still CREATING or UPDATING (adopted from an interrupted
        // run, or changed by someone else) refuses UpdateTable with
        // ResourceInUseException: wait until it is ACTIVE first.
        wait_until_active(aws, id, UPDATE_TIMEOUT).await?;

        // Indexes: one created or deleted per UpdateTable; a changed key or
        // projection means delete, then create. Deletes go first so that a
        // switch to PROVISIONED need not give capacities to doomed indexes.
        for old in &prior_gsis {
            if desired_gsis.iter().any(|g| g.name == old.name && g.same_shape(old)) {
                continue;
            }
            let action = built(CALL, DeleteGlobalSecondaryIndexAction::builder().index_name(&old.name).build())?;
            aws.count_call();
            aws.dynamodb
                .update_table()
                .table_name(id)
                .global_secondary_index_updates(GlobalSecondaryIndexUpdate::builder().delete(action).build())
                .send()
                .await
                .classify(CALL)?;
            last = Some(wait_until_active(aws, id, limit).await?);
        }

        // Billing mode and throughput, of the table and of the indexes that stay.
        let capacity_changed =
            |name: &str| get_i64(desired, name).is_some_and(|want| Some(want) != get_i64(prior, name));
        let mut request = aws.dynamodb.update_table().table_name(id);
        let mut needed = false;
        if billing_changed {
            request = request.billing_mode(BillingMode::from(if provisioned { PROVISIONED } else { PAY_PER_REQUEST }));
            needed = true;
        }
        if provisioned && (billing_changed || capacity_changed("read_capacity") || capacity_changed("write_capacity")) {
            request = request.provisioned_throughput(throughput(CALL, "", desired)?);
            needed = true;
        }
        if provisioned {
            for gsi in &desired_gsis {
                let Some(old) = prior_gsis.iter().find(|g| g.name == gsi.name && g.same_shape(gsi)) else {
                    continue;
                };
                if billing_changed || old.read != gsi.read || old.write != gsi.write {
                    let action = UpdateGlobalSecondaryIndexAction::builder()
                        .index_name(&gsi.name)
                        .provisioned_throughput(gsi.throughput(CALL)?)
                        .build();
                    request = request.global_secondary_index_updates(
                        GlobalSecondaryIndexUpdate::builder().update(built(CALL, action)?).build(),
                    );
                    needed = true;
                }
            }
        }
        if needed {
            aws.count_call();
            request.send().await.classify(CALL)?;
            last = Some(wait_until_active(aws, id, limit).await?);
        }

        // Streams: changing the view type means turning the stream off first.
        let was_streaming = get_bool(prior, "stream_enabled") == Some(true);
        let streaming = get_bool(desired, "stream_enabled") == Some(true);
        let view_type = get_nonempty_str(desired, "stream_view_type").or(get_nonempty_str(prior, "stream_view_type"));
        let view_changed = get_nonempty_str(desired, "stream_view_type")
            .is_some_and(|v| Some(v) != get_nonempty_str(prior, "stream_view_type"));
        if was_streaming && (!streaming || view_changed) {
            aws.count_call();
            aws.dynamodb
                .update_table()
                .table_name(id)
                .stream_specification(stream(CALL, false, None)?)
                .send()
                .await
                .classify(CALL)?;
            last = Some(wait_until_active(aws, id, limit).await?);
        }
        if streaming && (!was_streaming || view_changed) {
            let view_type = view_type.ok_or_else(|| {
                ProviderError::Invalid(format!(
                    "{TYPE_NAME}: \"stream_view_type\" is required when \"stream_enabled\" is true"
                ))
            })?;
            aws.count_call();
            aws.dynamodb
                .update_table()
                .table_name(id)
                .stream_specification(stream(CALL, true, Some(view_type))?)
                .send()
                .await
                .classify(CALL)?;
            last = Some(wait_until_active(aws, id, limit).await?);
        }

        let protection = get_bool(desired, "deletion_protection_enabled").unwrap_or(false);
        if get_bool(prior, "deletion_protection_enabled").unwrap_or(false) != protection {
            aws.count_call();
            aws.dynamodb
                .update_table()
                .table_name(id)
                .deletion_protection_enabled(protection)
                .send()
                .await
                .classify(CALL)?;
            last = Some(wait_until_active(aws, id, limit).await?);
        }
        if let Some(class) =
            get_nonempty_str(desired, "table_class").filter(|c| Some(*c) != get_str(prior, "table_class"))
        {
            aws.count_call();
            aws.dynamodb
                .update_table()
                .table_name(id)
                .table_class(TableClass::from(class))
                .send()
                .await
                .classify(CALL)?;
            last = Some(wait_until_active(aws, id, limit).await?);
        }

        for gsi in &desired_gsis {
            if prior_gsis.iter().any(|g| g.name == gsi.name && g.same_shape(gsi)) {
                continue;
            }
            let mut action =
                CreateGlobalSecondaryIndexAction::builder().index_name(&gsi.name).projection(gsi.projection());
            for key in gsi.key_schema(CALL)? {
                action = action.key_schema(key);
            }
            if provisioned {
                action = action.provisioned_throughput(gsi.throughput(CALL)?);
            }
            aws.count_call();
            aws.dynamodb
                .update_table()
                .table_name(id)
                .set_attribute_definitions(Some(attribute_definitions(desired)?))
                .global_secondary_index_updates(
                    GlobalSecondaryIndexUpdate::builder().create(built(CALL, action.build())?).build(),
                )
                .send()
                .await
                .classify(CALL)?;
            last = Some(wait_until_active(aws, id, limit).await?);
        }

        if let Some(sse) = Sse::from_attrs(desired).filter(|s| s.differs_from(Sse::from_attrs(prior).as_ref())) {
            aws.count_call();
            aws.dynamodb.update_table().table_name(id).sse_specification(sse.spec()).send().await.classify(CALL)?;
            last = Some(wait_until_active(aws, id, limit).await?);
        }

        let mut ttl_block = prior.get("ttl").cloned().unwrap_or_else(|| Value::Array(Vec::new()));
        if let Some(ttl) = desired_ttl(desired)? {
            let before = single_block(prior, "ttl").map(Ttl::from_block);
            let was_enabled = before.as_ref().is_some_and(|t| t.enabled);
            if ttl.enabled && before.as_ref() != Some(&ttl) {
                update_ttl(aws, id, &ttl).await?;
            } else if !ttl.enabled && was_enabled {
                // Turning TTL off still names the attribute it was on.
                let off = Ttl { attribute_name: before.and_then(|b| b.attribute_name), enabled: false };
                update_ttl(aws, id, &off).await?;
            }
            ttl_block = ttl.to_block();
        }
        let mut pitr = prior.get("point_in_time_recovery").cloned().unwrap_or_else(|| Value::Array(Vec::new()));
        if let Some(enabled) = desired_pitr(desired) {
            let before = single_block(prior, "point_in_time_recovery").and_then(|b| get_bool(b, "enabled"));
            if before != Some(enabled) {
                update_pitr(aws, id, enabled).await?;
            }
            pitr = pitr_block(enabled);
        }

        let arn = get_nonempty_str(prior, "arn").map(str::to_string);
        let table = match last {
            Some(table) => table,
            None => describe(aws, id).await?,
        };
        let arn = arn.or_else(|| table.table_arn().map(str::to_string)).unwrap_or_default();
        let changes = tag_changes(prior, desired, owner_tags);
        if !changes.set.is_empty() {
            let mut request = aws.dynamodb.tag_resource().resource_arn(&arn);
            for (k, v) in changes.set {
                request = request.tags(built("dynamodb:TagResource", Tag::builder().key(k).value(v).build())?);
            }
            aws.count_call();
            request.send().await.classify("dynamodb:TagResource")?;
        }
        if !changes.remove.is_empty() {
            aws.count_call();
            aws.dynamodb
                .untag_resource()
                .resource_arn(&arn)
                .set_tag_keys(Some(changes.remove))
                .send()
                .await
                .classify("dynamodb:UntagResource")?;
        }
        let tags_all = tags_to_json(&get_tags(desired, "tags_all"));
        Ok(table_attrs(&table, desired, ttl_block, pitr, tags_all))
    }

    async fn delete(&self, aws: &AwsCtx, id: &str, prior: &Attrs) -> Result<(), ProviderError> {
        let limit = timeouts::limit(prior, "delete", DELETE_TIMEOUT);
        const CALL: &str = "dynamodb:DeleteTable";
        aws.count_call();
        let mut result = aws.dynamodb.delete_table().table_name(id).send().await.classify(CALL);
        // A table still CREATING or UPDATING refuses deletion with this code.
        if result.as_ref().is_err_and(|e| e.code() == Some("ResourceInUseException")) {
            if found(wait_until_active(aws, id, limit).await, &[])?.is_none() {
                return Ok(());
            }
            aws.count_call();
            result = aws.dynamodb.delete_table().table_name(id).send().await.classify(CALL);
        }
        if found(result, &[])?.is_none() {
            return Ok(());
        }
        // A replacement with the same name cannot be created while this one
        // is still DELETING.
        wait_for("dynamodb:DescribeTable", &format!("table {id} still exists"), limit, || async {
            Ok(found(describe(aws, id).await, &[])?.is_none().then_some(()))
        })
        .await
    }
}

async fn read_one(ctx: &ReadCtx<'_>, req: &ReadRequest) -> Result<Option<Attrs>, ProviderError> {
    let aws = ctx.aws;
    let table = describe(aws, &req.id).await?;
    if table.table_status() == Some(&TableStatus::Deleting) {
        return Ok(None);
    }
    let arn = table.table_arn().unwrap_or_default();
    // Read what the stack declares: TTL and point-in-time recovery cost a
    // call each, made only for tables whose state holds those blocks.
    let ttl = async {
        match single_block(&req.prior, "ttl") {
            Some(prior) => read_ttl(aws, &req.id, prior).await,
            None => Ok(req.prior.get("ttl").cloned().unwrap_or_else(|| Value::Array(Vec::new()))),
        }
    };
    let pitr = async {
        match single_block(&req.prior, "point_in_time_recovery") {
            Some(_) => read_pitr(aws, &req.id).await.map(pitr_block),
            None => Ok(req.prior.get("point_in_time_recovery").cloned().unwrap_or_else(|| Value::Array(Vec::new()))),
        }
    };
    let tags = async {
        match ctx.tags_by_arn().await.get(arn) {
            Some(tags) => Ok(tags.clone()),
            None => list_tags(aws, arn).await,
        }
    };
    let (ttl, pitr, tags) = futures::try_join!(ttl, pitr, tags)?;
    Ok(Some(table_attrs(&table, &req.prior, ttl, pitr, visible_tags(&tags))))
}

/// The attribute map for a described table; `args` supplies `tags`.
fn table_attrs(table: &TableDescription, args: &Attrs, ttl: Value, pitr: Value, tags_all: Value) -> Attrs {
    let name = table.table_name().unwrap_or_default();
    let billing = table.billing_mode_summary().and_then(|b| b.billing_mode()).map_or(PROVISIONED, |b| b.as_str());
    let key_of = |keys: &[KeySchemaElement], kind: KeyType| {
        keys.iter().find(|k| *k.key_type() == kind).map(|k| Value::from(k.attribute_name())).unwrap_or(Value::Null)
    };
    let throughput = table.provisioned_throughput();
    let stream = table.stream_specification();

    let mut attrs = Attrs::new();
    attrs.insert("id".into(), Value::from(name));
    attrs.insert("name".into(), Value::from(name));
    attrs.insert("arn".into(), Value::from(table.table_arn()));
    attrs.insert("billing_mode".into(), Value::from(billing));
    attrs.insert("hash_key".into(), key_of(table.key_schema(), KeyType::Hash));
    attrs.insert("range_key".into(), key_of(table.key_schema(), KeyType::Range));
    attrs.insert("read_capacity".into(), Value::from(throughput.and_then(|t| t.read_capacity_units())));
    attrs.insert("write_capacity".into(), Value::from(throughput.and_then(|t| t.write_capacity_units())));
    attrs.insert("stream_enabled".into(), Value::from(stream.is_some_and(|s| s.stream_enabled())));
    attrs.insert("stream_view_type".into(), Value::from(stream.and_then(|s| s.stream_view_type()).map(|v| v.as_str())));
    attrs.insert("stream_arn".into(), Value::from(table.latest_stream_arn()));
    attrs.insert("stream_label".into(), Value::from(table.latest_stream_label()));
    attrs.insert(
        "deletion_protection_enabled".into(),
        Value::from(table.deletion_protection_enabled().unwrap_or(false)),
    );
    let class = table.table_class_summary().and_then(|c| c.table_class()).map_or("STANDARD", |c| c.as_str());
    attrs.insert("table_class".into(), Value::from(class));

    let mut attributes: Vec<_> =
        table.attribute_definitions().iter().map(|a| (a.attribute_name(), a.attribute_type().as_str())).collect();
    attributes.sort_unstable();
    let attributes = attributes.into_iter().map(|(name, ty)| serde_json::json!({"name": name, "type": ty})).collect();
    attrs.insert("attribute".into(), Value::Array(attributes));

    let mut indexes: Vec<_> = table
        .global_secondary_indexes()
        .iter()
        .map(|g| {
            let projection = g.projection();
            let mut non_key: Vec<&str> =
                projection.map(|p| p.non_key_attributes().iter().map(String::as_str).collect()).unwrap_or_default();
            non_key.sort_unstable();
            // Capacities of on-demand indexes are reported as 0, which is not
            // something the stack said.
            let capacity = |v: Option<i64>| if billing == PROVISIONED { Value::from(v) } else { Value::Null };
            let throughput = g.provisioned_throughput();
            serde_json::json!({
                "name": g.index_name(),
                "hash_key": key_of(g.key_schema(), KeyType::Hash),
                "range_key": key_of(g.key_schema(), KeyType::Range),
                "projection_type": projection.and_then(|p| p.projection_type()).map(|p| p.as_str()),
                "non_key_attributes": if non_key.is_empty() { Value::Null } else { Value::from(non_key) },
                "read_capacity": capacity(throughput.and_then(|t| t.read_capacity_units())),
                "write_capacity": capacity(throughput.and_then(|t| t.write_capacity_units())),
            })
        })
        .collect();
    indexes.sort_by(|a, b| a["name"].as_str().cmp(&b["name"].as_str()));
    attrs.insert("global_secondary_index".into(), Value::Array(indexes));
    let mut locals: Vec<_> = table
        .local_secondary_indexes()
        .iter()
        .map(|l| {
            let projection = l.projection();
            let non_key: Vec<&str> =
                projection.map(|p| p.non_key_attributes().iter().map(String::as_str).collect()).unwrap_or_default();
            serde_json::json!({
                "name": l.index_name(),
                "range_key": key_of(l.key_schema(), KeyType::Range),
                "projection_type": projection.and_then(|p| p.projection_type()).map(|p| p.as_str()),
                "non_key_attributes": if non_key.is_empty() { Value::Null } else { Value::from(non_key) },
            })
        })
        .collect();
    locals.sort_by(|a, b| a["name"].as_str().cmp(&b["name"].as_str()));
    attrs.insert("local_secondary_index".into(), Value::Array(locals));
    attrs.insert("ttl".into(), ttl);
    attrs.insert("point_in_time_recovery".into(), pitr);
    attrs.insert(dynamodb_sse::BLOCK.into(), dynamodb_sse::read_block(table.sse_description(), args));
    copy_attrs(&mut attrs, args, &["tags", timeouts::BLOCK]);
    attrs.insert("tags_all".into(), tags_all);
    complete(&SCHEMA, attrs)
}

fn billing_mode(desired: &Attrs) -> Result<&str, ProviderError> {
    match get_str(desired, "billing_mode").unwrap_or(PROVISIONED) {
        mode @ (PROVISIONED | PAY_PER_REQUEST) => Ok(mode),
        other => Err(ProviderError::Invalid(format!(
            "{TYPE_NAME}: \"billing_mode\" must be {PROVISIONED} or {PAY_PER_REQUEST}, not {other:?}"
        ))),
    }
}

/// On-demand tables and their indexes report no capacity, so a capacity in
/// the stack would show as a change forever. In an update, values equal to
/// the prior ones are what state carried over, not something the stack said.
fn check_on_demand_capacity(desired: &Attrs, prior: &Attrs, provisioned: bool) -> Result<(), ProviderError> {
    if provisioned {
        return Ok(());
    }
    let prior_gsis = block_items(prior, "global_secondary_index");
    let set = |attrs: &Attrs, before: Option<&Attrs>| {
        ["read_capacity", "write_capacity"]
            .iter()
            .any(|n| get_i64(attrs, n).is_some_and(|v| v != 0 && Some(v) != before.and_then(|b| get_i64(b, n))))
    };
    let gsi_set = block_items(desired, "global_secondary_index").into_iter().any(|g| {
        let before = prior_gsis.iter().copied().find(|p| get_str(p, "name") == get_str(g, "name"));
        set(g, before)
    });
    if set(desired, Some(prior)) || gsi_set {
        return Err(ProviderError::Invalid(format!(
            "{TYPE_NAME}: \"read_capacity\" and \"write_capacity\" cannot be set when billing_mode is {PAY_PER_REQUEST}"
        )));
    }
    Ok(())
}

fn attribute_definitions(desired: &Attrs) -> Result<Vec<AttributeDefinition>, ProviderError> {
    let items = block_items(desired, "attribute");
    if items.is_empty() {
        return Err(ProviderError::Invalid(format!("{TYPE_NAME}: at least one \"attribute\" block is required")));
    }
    items
        .into_iter()
        .map(|a| {
            let name = require_str(a, "name", TYPE_NAME)?;
            let ty = require_str(a, "type", TYPE_NAME)?;
            built(
                "dynamodb:CreateTable",
                AttributeDefinition::builder()
                    .attribute_name(name)
                    .attribute_type(ScalarAttributeType::from(ty))
                    .build(),
            )
        })
        .collect()
}

fn key(call: &str, name: &str, kind: KeyType) -> Result<KeySchemaElement, ProviderError> {
    built(call, KeySchemaElement::builder().attribute_name(name).key_type(kind).build())
}

/// Read and write capacity from `attrs`, both required under PROVISIONED.
/// `what` names the index, if any, for the error message.
fn throughput(call: &str, what: &str, attrs: &Attrs) -> Result<ProvisionedThroughput, ProviderError> {
    let (Some(read), Some(write)) = (get_i64(attrs, "read_capacity"), get_i64(attrs, "write_capacity")) else {
        return Err(ProviderError::Invalid(format!(
            "{TYPE_NAME}: \"read_capacity\" and \"write_capacity\" are required{what} when billing_mode is {PROVISIONED}"
        )));
    };
    built(call, ProvisionedThroughput::builder().read_capacity_units(read).write_capacity_units(write).build())
}

fn stream(call: &str, enabled: bool, view_type: Option<&str>) -> Result<StreamSpecification, ProviderError> {
    built(
        call,
        StreamSpecification::builder()
            .stream_enabled(enabled)
            .set_stream_view_type(view_type.map(StreamViewType::from))
            .build(),
    )
}

/// A `local_secondary_index` block as CreateTable takes it: the table's
/// hash key with the index's own range key.
fn local_index(call: &str, hash_key: &str, block: &Attrs) -> Result<LocalSecondaryIndex, ProviderError> {
    let name = require_str(block, "name", "local_secondary_index")?;
    let range_key = require_str(block, "range_key", "local_secondary_index")?;
    let projection_type = require_str(block, "projection_type", "local_secondary_index")?;
    let non_key = get_strings(block, "non_key_attributes");
    let projection = Projection::builder()
        .projection_type(ProjectionType::from(projection_type))
        .set_non_key_attributes((!non_key.is_empty()).then_some(non_key))
        .build();
    built(
        call,
        LocalSecondaryIndex::builder()
            .index_name(name)
            .key_schema(key(call, hash_key, KeyType::Hash)?)
            .key_schema(key(call, range_key, KeyType::Range)?)
            .projection(projection)
            .build(),
    )
}

/// A `global_secondary_index` block.
#[derive(Debug, Clone, PartialEq)]
struct Gsi {
    name: String,
    hash_key: String,
    range_key: Option<String>,
    projection_type: String,
    non_key_attributes: Vec<String>,
    read: Option<i64>,
    write: Option<i64>,
    attrs: Attrs,
}

fn gsis(attrs: &Attrs) -> Vec<Gsi> {
    block_items(attrs, "global_secondary_index")
        .into_iter()
        .map(|g| {
            let mut non_key_attributes = get_strings(g, "non_key_attributes");
            non_key_attributes.sort();
            Gsi {
                name: get_str(g, "name").unwrap_or_default().to_string(),
                hash_key: get_str(g, "hash_key").unwrap_or_default().to_string(),
                range_key: get_nonempty_str(g, "range_key").map(str::to_string),
                projection_type: get_str(g, "projection_type").unwrap_or_default().to_string(),
                non_key_attributes,
                read: get_i64(g, "read_capacity"),
                write: get_i64(g, "write_capacity"),
                attrs: g.clone(),
            }
        })
        .collect()
}

impl Gsi {
    fn validate(&self) -> Result<(), ProviderError> {
        for (field, value) in
            [("name", &self.name), ("hash_key", &self.hash_key), ("projection_type", &self.projection_type)]
        {
            if value.is_empty() {
                return Err(ProviderError::Invalid(format!(
                    "{TYPE_NAME}: \"{field}\" is required in every \"global_secondary_index\" block"
                )));
            }
        }
        Ok(())
    }

    /// Same keys and projection: only a capacity change, done in place.
    fn same_shape(&self, other: &Gsi) -> bool {
        self.hash_key == other.hash_key
            && self.range_key == other.range_key
            && self.projection_type == other.projection_type
            && self.non_key_attributes == other.non_key_attributes
    }

    fn key_schema(&self, call: &str) -> Result<Vec<KeySchemaElement>, ProviderError> {
        let mut keys = vec![key(call, &self.hash_key, KeyType::Hash)?];
        if let Some(range_key) = &self.range_key {
            keys.push(key(call, range_key, KeyType::Range)?);
        }
        Ok(keys)
    }

    fn projection(&self) -> Projection {
        let non_key = (!self.non_key_attributes.is_empty()).then(|| self.non_key_attributes.clone());
        Projection::builder()
            .projection_type(ProjectionType::from(self.projection_type.as_str()))
            .set_non_key_attributes(non_key)
            .build()
    }

    fn throughput(&self, call: &str) -> Result<ProvisionedThroughput, ProviderError> {
        throughput(call, &format!(" in index {:?}", self.name), &self.attrs)
    }
}

/// A `ttl` block.
#[derive(Debug, Clone, PartialEq)]
struct Ttl {
    attribute_name: Option<String>,
    enabled: bool,
}

impl Ttl {
    fn from_block(block: &Attrs) -> Ttl {
        Ttl {
            attribute_name: get_nonempty_str(block, "attribute_name").map(str::to_string),
            enabled: get_bool(block, "enabled").unwrap_or(false),
        }
    }

    fn to_block(&self) -> Value {
        let mut block = Attrs::new();
        block.insert("attribute_name".into(), Value::from(self.attribute_name.as_deref()));
        block.insert("enabled".into(), Value::from(self.enabled));
        one_block(block)
    }
}

fn desired_ttl(desired: &Attrs) -> Result<Option<Ttl>, ProviderError> {
    let Some(ttl) = single_block(desired, "ttl").map(Ttl::from_block) else {
        return Ok(None);
    };
    if ttl.enabled && ttl.attribute_name.is_none() {
        return Err(ProviderError::Invalid(format!("{TYPE_NAME}: \"ttl\" needs \"attribute_name\" when enabled")));
    }
    Ok(Some(ttl))
}

fn desired_pitr(desired: &Attrs) -> Option<bool> {
    single_block(desired, "point_in_time_recovery").map(|b| get_bool(b, "enabled").unwrap_or(false))
}

fn pitr_block(enabled: bool) -> Value {
    one_block(serde_json::json!({"enabled": enabled}).as_object().cloned().unwrap_or_default())
}

async fn describe(aws: &AwsCtx, name: &str) -> Result<TableDescription, ProviderError> {
    aws.count_call();
    let out = aws.dynamodb.describe_table().table_name(name).send().await.classify("dynamodb:DescribeTable")?;
    out.table.ok_or(ProviderError::NotFound { call: "dynamodb:DescribeTable" })
}

/// Polls until the table and all its indexes are ACTIVE.
async fn wait_until_active(aws: &AwsCtx, name: &str, limit: Duration) -> Result<TableDescription, ProviderError> {
    wait_for("dynamodb:DescribeTable", &format!("table {name} is not ACTIVE"), limit, || async {
        let table = describe(aws, name).await?;
        let active = table.table_status() == Some(&TableStatus::Active)
            && table
                .global_secondary_indexes()
                .iter()
                .all(|g| g.index_status().is_none_or(|s| *s == IndexStatus::Active));
        Ok(active.then_some(table))
    })
    .await
}

async fn read_ttl(aws: &AwsCtx, name: &str, prior: &Attrs) -> Result<Value, ProviderError> {
    aws.count_call();
    let out =
        aws.dynamodb.describe_time_to_live().table_name(name).send().await.classify("dynamodb:DescribeTimeToLive")?;
    let description = out.time_to_live_description();
    let status = description.and_then(|d| d.time_to_live_status());
    let enabled = matches!(status, Some(TimeToLiveStatus::Enabled | TimeToLiveStatus::Enabling));
    // A disabled TTL has no attribute; keep the one the stack named.
    let attribute_name = description
        .and_then(|d| d.attribute_name())
        .filter(|n| !n.is_empty())
        .map(str::to_string)
        .or_else(|| get_nonempty_str(prior, "attribute_name").map(str::to_string));
    Ok(Ttl { attribute_name, enabled }.to_block())
}

async fn read_pitr(aws: &AwsCtx, name: &str) -> Result<bool, ProviderError> {
    aws.count_call();
    let out = aws
        .dynamodb
        .describe_continuous_backups()
        .table_name(name)
        .send()
        .await
        .classify("dynamodb:DescribeContinuousBackups")?;
    let status = out
        .continuous_backups_description()
        .and_then(|d| d.point_in_time_recovery_description())
        .and_then(|p| p.point_in_time_recovery_status());
    Ok(status == Some(&PointInTimeRecoveryStatus::Enabled))
}

async fn update_ttl(aws: &AwsCtx, name: &str, ttl: &Ttl) -> Result<(), ProviderError> {
    const CALL: &str = "dynamodb:UpdateTimeToLive";
    let spec = built(
        CALL,
        TimeToLiveSpecification::builder().enabled(ttl.enabled).set_attribute_name(ttl.attribute_name.clone()).build(),
    )?;
    aws.count_call();
    aws.dynamodb.update_time_to_live().table_name(name).time_to_live_specification(spec).send().await.classify(CALL)?;
    Ok(())
}

async fn update_pitr(aws: &AwsCtx, name: &str, enabled: bool) -> Result<(), ProviderError> {
    const CALL: &str = "dynamodb:UpdateContinuousBackups";
    let spec =
        built(CALL, PointInTimeRecoverySpecification::builder().point_in_time_recovery_enabled(enabled).build())?;
    aws.count_call();
    aws.dynamodb
        .update_continuous_backups()
        .table_name(name)
        .point_in_time_recovery_specification(spec)
        .send()
        .await
        .classify(CALL)?;
    Ok(())
}

async fn list_tags(aws: &AwsCtx, arn: &str) -> Result<Tags, ProviderError> {
    let mut tags = Tags::new();
    let mut token = None;
    loop {
        aws.count_call();
        let out = aws
            .dynamodb
            .list_tags_of_resource()
            .resource_arn(arn)
            .set_next_token(token)
            .send()
            .await
            .classify("dynamodb:ListTagsOfResource")?;
        tags.extend(out.tags().iter().map(|t| (t.key().to_string(), t.value().to_string())));
        token = out.next_token().map(str::to_string);
        if token.is_none() {
            return Ok(tags);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn attrs(v: Value) -> Attrs {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn index_shape_ignores_capacity_and_attribute_order() {
        let a = gsis(&attrs(json!({"global_secondary_index": [
            {"name": "i", "hash_key": "h", "projection_type": "INCLUDE", "non_key_attributes": ["b", "a"], "read_capacity": 1}
        ]})));
        let b = gsis(&attrs(json!({"global_secondary_index": [
            {"name": "i", "hash_key": "h", "projection_type": "INCLUDE", "non_key_attributes": ["a", "b"], "read_capacity": 5}
        ]})));
        assert!(a[0].same_shape(&b[0]));
        assert_ne!(a[0].read, b[0].read);
    }

    #[test]
    fn enabled_ttl_needs_an_attribute() {
        assert!(desired_ttl(&attrs(json!({"ttl": [{"enabled": true, "attribute_name": null}]}))).is_err());
        assert_eq!(desired_ttl(&attrs(json!({"ttl": []}))).ok(), Some(None));
        let ttl = desired_ttl(&attrs(json!({"ttl": [{"enabled": true, "attribute_name": "exp"}]}))).ok().flatten();
        assert_eq!(ttl.map(|t| t.to_block()), Some(json!([{"attribute_name": "exp", "enabled": true}])));
    }

    #[test]
    fn provisioned_tables_need_capacities() {
        assert!(throughput("c", "", &attrs(json!({"read_capacity": 1}))).is_err());
        assert!(throughput("c", "", &attrs(json!({"read_capacity": 1, "write_capacity": 2.0}))).is_ok());
        assert!(billing_mode(&attrs(json!({"billing_mode": "ON_DEMAND"}))).is_err());
        let none = Attrs::new();
        assert!(check_on_demand_capacity(&attrs(json!({"read_capacity": 5})), &none, false).is_err());
        assert!(check_on_demand_capacity(&attrs(json!({"read_capacity": 0})), &none, false).is_ok());
        let carried = attrs(json!({"read_capacity": 5}));
        assert!(check_on_demand_capacity(&carried, &carried, false).is_ok());
        let gsi = attrs(json!({"global_secondary_index": [{"name": "i", "write_capacity": 1}]}));
        assert!(check_on_demand_capacity(&gsi, &none, false).is_err());
        assert!(check_on_demand_capacity(&gsi, &gsi, false).is_ok());
        assert!(check_on_demand_capacity(&gsi, &none, true).is_ok());
    }
}
