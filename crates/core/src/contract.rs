//! Contract suites: every scenario is written once, generically, and each adapter
//! instantiates all of them with a macro and a factory that returns a fresh, empty
//! instance per test (its own database or temp dir).
//!
//! ```text
//! orderflow_core::event_store_contract!(async { MyStore::open_temp().await });
//! orderflow_core::event_bus_contract!(async { MyBus::open_temp().await });
//! ```

pub mod bus;
pub mod generations;
pub mod group_commit;
pub mod import;
pub mod keys;
pub mod mail;
pub mod payment;
pub mod read_model;
pub mod registry;
pub mod store;

/// Instantiates every event-store scenario (and the checkpoint scenarios) as a test.
/// The factory expression must evaluate to a future of `(S, G)` where `S` implements
/// `EventStore + Checkpoints` and `G` is a guard kept alive for the test (a temp dir).
#[macro_export]
macro_rules! event_store_contract {
    ($factory:expr) => {
        $crate::__contract_tests!(store, $factory;
            appends_and_reads_a_stream_in_version_order,
            a_stale_expected_version_is_a_typed_conflict,
            a_multi_stream_append_is_all_or_nothing,
            reads_a_stream_up_to_a_version_or_a_time,
            reads_everything_in_global_order_from_a_position,
            reads_every_stream_of_one_correlation,
            reading_a_correlation_since_a_position_gives_what_came_after,
            concurrent_writers_at_one_version_have_exactly_one_winner,
            each_event_keeps_its_trace_context,
            a_duplicate_event_id_is_refused,
            a_duplicate_event_id_anywhere_in_an_append_refuses_all_of_it,
            checkpoints_survive_and_move_forward,
        );
    };
}

/// Instantiates every import scenario as a test. The factory expression must evaluate to
/// a future of `(S, G)` where `S: EventStore + ImportEvents` and `G` is kept alive for
/// the test.
#[macro_export]
macro_rules! event_import_contract {
    ($factory:expr) => {
        $crate::__contract_tests!(import, $factory;
            imported_events_keep_their_positions_versions_ids_and_times,
            an_import_that_does_not_continue_the_store_writes_nothing,
        );
    };
}

/// Instantiates every group-commit scenario as a test. The factory expression must
/// evaluate to a future of `(S, G)` where `S: EventStore + CountsCommits`
/// ([`group_commit::CountsCommits`]) and `G` is kept alive for the test.
#[macro_export]
macro_rules! group_commit_contract {
    ($factory:expr) => {
        $crate::__contract_tests!(group_commit, $factory;
            a_refused_append_is_a_write_of_a_committed_group,
            the_groups_of_many_writers_add_up_to_all_their_appends,
        );
    };
}

/// Instantiates every event-bus scenario as a test. The factory expression must evaluate
/// to a future of `(B, G)` where `B: EventBus` and `G` is kept alive for the test.
#[macro_export]
macro_rules! event_bus_contract {
    ($factory:expr) => {
        $crate::__contract_tests!(bus, $factory;
            one_key_stays_in_order_on_its_murmur2_partition,
            a_group_resumes_after_its_committed_offsets,
            a_flush_keeps_every_record_and_publishing_goes_on,
            uncommitted_records_are_delivered_again,
            a_new_group_starts_from_earliest_latest_or_a_time,
            groups_are_independent,
            lag_is_the_gap_between_committed_and_end,
            lag_in_time_is_the_age_of_the_oldest_unhandled_record,
            a_subscribed_group_has_a_live_member_until_it_leaves,
            the_records_of_a_key_are_read_in_order_and_no_others,
            the_records_of_a_topic_are_read_partition_by_partition,
            a_parked_record_is_listed_read_and_discarded_with_who_and_why,
            a_replayed_record_goes_back_to_its_topic_for_its_group,
            a_waiting_poll_wakes_for_a_new_record,
            a_poll_with_nothing_to_read_returns_empty_at_its_deadline,
            end_offsets_count_the_records_of_each_partition,
            a_reset_group_replays_from_the_chosen_start,
            a_group_reset_to_given_offsets_resumes_there_and_elsewhere_from_the_start,
            retained_records_begin_at_each_partitions_first_with_its_position,
        );
    };
}

/// Instantiates every schema-registry storage scenario as a test. The factory expression
/// must evaluate to a future of `(S, G)` where `S: SchemaStore`.
#[macro_export]
macro_rules! schema_store_contract {
    ($factory:expr) => {
        $crate::__contract_tests!(registry, $factory;
            a_schema_has_one_id_across_subjects_and_versions_count_up,
            compatibility_levels_are_kept_per_subject_and_globally,
            an_incompatible_schema_is_refused_and_not_stored,
            an_unknown_id_is_not_found,
            a_schema_comes_back_as_it_was_registered,
            soft_deleted_versions_are_hidden_and_permanent_deletes_free_the_id,
            a_soft_deleted_schema_registered_again_is_a_new_version_with_its_id,
            references_are_kept_with_their_schema,
        );
    };
}

/// Instantiates the scenarios of a schema store that shares a database with an event
/// store. The factory expression must evaluate to a future of
/// `(registry::WithEvents<S, E>, G)` where `S: SchemaStore + SchemaUsage` counts the
/// events that `E: EventStore` stores.
#[macro_export]
macro_rules! schema_usage_contract {
    ($factory:expr) => {
        $crate::__contract_tests!(registry, $factory;
            a_schema_stored_events_use_is_not_deleted_for_good,
        );
    };
}

/// Instantiates every read-model scenario as a test. The factory expression must
/// evaluate to a future of `(M, G)` where `M: ReadModel + AnalyticsStore`.
#[macro_export]
macro_rules! read_model_contract {
    ($factory:expr) => {
        $crate::__contract_tests!(read_model, $factory;
            a_batch_stores_its_summaries_and_its_position_together,
            a_later_batch_overwrites_a_summary,
            a_customers_orders_are_listed_newest_first,
            open_orders_are_listed_oldest_first_up_to_the_limit,
            an_analytics_event_recorded_twice_counts_once,
            a_record_commits_its_partitions_next_offset_with_its_counts,
            a_record_below_its_partitions_offset_is_skipped,
            a_record_without_changes_moves_its_offset_only,
            another_bus_starts_from_no_offsets_and_keeps_the_counts,
            revenue_adds_up_per_day_refunds_included,
            an_orders_failed_steps_are_kept_with_it,
            orders_are_listed_newest_first_filtered_and_paged,
            a_forgotten_customers_orders_lose_their_address_and_nothing_else,
            an_address_comes_back_sealed_as_stored_or_as_the_text_recorded_before_sealing,
        );
    };
}

/// Instantiates every read-model generation scenario as a test. The factory expression
/// must evaluate to a future of `(G, M, guard)` where `G: ReadModelGenerations` holds
/// the generations of the live read models `M: ReadModel + AnalyticsStore`, both fresh.
#[macro_export]
macro_rules! read_model_generations_contract {
    ($factory:expr) => {
        $crate::__contract_tests!(@with_live generations, $factory;
            the_live_views_answer_until_the_next_generation_is_swapped_in,
            a_next_generation_behind_the_live_views_is_not_swapped_in,
            a_batch_behind_the_views_changes_nothing,
            rebuilt_analytics_keeps_the_bus_offsets_and_counts_each_event_once,
            swapping_the_views_alone_leaves_analytics_as_it_was,
            beginning_again_drops_an_unfinished_generation,
            a_rebuilds_progress_is_kept_beside_the_live_read_models,
        );
    };
}

/// Instantiates every key-store scenario as a test. The factory expression must evaluate
/// to a future of `(K, G)` where `K: KeyStore` is fresh (no subject yet).
#[macro_export]
macro_rules! key_store_contract {
    ($factory:expr) => {
        $crate::__contract_tests!(keys, $factory;
            a_subject_writes_with_one_key_until_it_is_forgotten,
            concurrent_first_writers_of_a_subject_get_one_key,
            a_key_is_read_back_by_its_subject_and_number,
            forgetting_destroys_every_key_of_the_subject_and_remembers_when,
            a_subject_heard_of_after_forgetting_gets_a_key_of_the_next_number,
            forgetting_one_subject_leaves_the_others_keys,
        );
    };
}

/// Instantiates every payment-provider scenario as a test. The factory expression must
/// evaluate to a future of `(P, G)` where `P: PaymentProvider` is fresh (no key
/// answered yet) and approves small charges.
#[macro_export]
macro_rules! payment_provider_contract {
    ($factory:expr) => {
        $crate::__contract_tests!(payment, $factory;
            a_charge_asked_again_under_its_key_is_answered_as_the_first_time,
            a_charge_under_a_new_key_is_a_new_charge,
            a_key_reused_for_another_request_is_refused_for_good,
            a_void_closes_the_key_so_a_later_charge_is_voided,
            voiding_a_charge_already_made_answers_with_that_charge,
            a_refund_asked_again_under_its_key_is_the_same_refund,
        );
    };
}

/// Instantiates every mailer scenario as a test. The factory expression must evaluate
/// to a future of `(M, S)` where `M: Mailer` delivers to `S: MailSink`, empty so far.
#[macro_export]
macro_rules! mailer_contract {
    ($factory:expr) => {
        $crate::__contract_tests!(@with_sink mail, $factory;
            an_email_arrives_whole_with_its_message_id,
            an_email_sent_again_carries_the_same_message_id,
            an_address_that_is_not_one_is_a_permanent_failure_and_nothing_is_sent,
            a_destination_that_is_down_is_a_transient_failure,
        );
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __contract_tests {
    (@with_live $suite:ident, $factory:expr; $($scenario:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $scenario() {
                let (subject, live, _guard) = $factory.await;
                $crate::contract::$suite::$scenario(
                    std::sync::Arc::new(subject),
                    std::sync::Arc::new(live),
                )
                .await;
            }
        )*
    };
    (@with_sink $suite:ident, $factory:expr; $($scenario:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $scenario() {
                let (subject, sink) = $factory.await;
                $crate::contract::$suite::$scenario(std::sync::Arc::new(subject), &sink).await;
            }
        )*
    };
    ($suite:ident, $factory:expr; $($scenario:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $scenario() {
                let (subject, _guard) = $factory.await;
                $crate::contract::$suite::$scenario(std::sync::Arc::new(subject)).await;
            }
        )*
    };
}
