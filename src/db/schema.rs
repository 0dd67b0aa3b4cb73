// Written by hand: the MultiConnection supports only the SQL types both backends share,
// so ids are BigInt and timestamps are UTC `Timestamp`s. Keep in step with
// `migrations/`; the migration tests compare this file with what they produce.

diesel::table! {
    regions (code) {
        code -> Text,
        level -> Text,
        parent_code -> Nullable<Text>,
        name -> Text,
    }
}

diesel::table! {
    report_categories (id) {
        id -> BigInt,
        code -> Text,
        name -> Text,
        active -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        version -> BigInt,
        description -> Nullable<Text>,
    }
}

diesel::table! {
    kims (id) {
        id -> BigInt,
        registration_code -> Text,
        name -> Text,
        name_key -> Text,
        kelurahan_code -> Text,
        kecamatan_code -> Text,
        area_type -> Text,
        address -> Nullable<Text>,
        description -> Nullable<Text>,
        focus -> Text,
        contact_phone -> Nullable<Text>,
        contact_email -> Nullable<Text>,
        status -> Text,
        sk_number -> Nullable<Text>,
        sk_date -> Nullable<Date>,
        established_on -> Nullable<Date>,
        active_member_count -> Integer,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        version -> BigInt,
        latitude -> Nullable<Double>,
        longitude -> Nullable<Double>,
    }
}

diesel::table! {
    region_boundaries (code) {
        code -> Text,
        geometry -> Text,
        min_latitude -> Double,
        max_latitude -> Double,
        min_longitude -> Double,
        max_longitude -> Double,
        imported_at -> Timestamp,
    }
}

diesel::table! {
    registration_counters (prefix) {
        prefix -> Text,
        last_value -> Integer,
    }
}

diesel::table! {
    kim_status_changes (id) {
        id -> BigInt,
        kim_id -> BigInt,
        from_status -> Nullable<Text>,
        to_status -> Text,
        reason -> Text,
        sk_number -> Nullable<Text>,
        sk_date -> Nullable<Date>,
        changed_by -> Nullable<BigInt>,
        changed_at -> Timestamp,
        request_id -> Nullable<Text>,
    }
}

diesel::table! {
    users (id) {
        id -> BigInt,
        username -> Text,
        username_key -> Text,
        display_name -> Nullable<Text>,
        password_hash -> Text,
        role -> Text,
        kim_id -> Nullable<BigInt>,
        disabled -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        version -> BigInt,
        security_stamp -> BigInt,
        language -> Text,
    }
}

diesel::table! {
    refresh_tokens (id) {
        id -> BigInt,
        token_hash -> Text,
        family_id -> Text,
        user_id -> BigInt,
        issued_at -> Timestamp,
        expires_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    integration_clients (id) {
        id -> BigInt,
        client_id -> Text,
        name -> Text,
        secret_hash -> Text,
        scopes -> Text,
        disabled -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        version -> BigInt,
        security_stamp -> BigInt,
    }
}

diesel::table! {
    login_failures (id) {
        id -> BigInt,
        account_key -> Text,
        client_ip -> Text,
        failed_at -> Timestamp,
    }
}

diesel::table! {
    audit_log (id) {
        id -> BigInt,
        occurred_at -> Timestamp,
        actor_type -> Text,
        actor_id -> Nullable<Text>,
        action -> Text,
        target_type -> Nullable<Text>,
        target_id -> Nullable<Text>,
        request_id -> Nullable<Text>,
        client_ip -> Nullable<Text>,
        detail -> Nullable<Text>,
    }
}

diesel::table! {
    idempotency_keys (id) {
        id -> BigInt,
        owner -> Text,
        idempotency_key -> Text,
        request_hash -> Text,
        status_code -> Integer,
        response -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
    }
}

diesel::table! {
    kim_members (id) {
        id -> BigInt,
        kim_id -> BigInt,
        full_name -> Text,
        nik_ciphertext -> Text,
        nik_hash -> Text,
        nik_masked -> Text,
        gender -> Text,
        birth_date -> Date,
        profession -> Nullable<Text>,
        position -> Text,
        phone_ciphertext -> Nullable<Text>,
        email -> Nullable<Text>,
        joined_on -> Date,
        left_on -> Nullable<Date>,
        status -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        version -> BigInt,
    }
}

diesel::table! {
    notification_preferences (user_id, kind) {
        user_id -> BigInt,
        kind -> Text,
        inbox -> Bool,
        stream -> Bool,
        push -> Bool,
    }
}

diesel::table! {
    push_subscriptions (id) {
        id -> BigInt,
        user_id -> BigInt,
        endpoint -> Text,
        p256dh -> Text,
        auth -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    push_deliveries (id) {
        id -> BigInt,
        subscription_id -> BigInt,
        notification_id -> BigInt,
        attempts -> Integer,
        next_attempt_at -> Timestamp,
        created_at -> Timestamp,
    }
}

diesel::table! {
    report_subscriptions (id) {
        id -> BigInt,
        report_id -> BigInt,
        email_ciphertext -> Text,
        email_digest -> Text,
        confirmed_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    mail_outbox (id) {
        id -> BigInt,
        subscription_id -> BigInt,
        kind -> Text,
        subject -> Text,
        body -> Text,
        attempts -> Integer,
        next_attempt_at -> Timestamp,
        created_at -> Timestamp,
    }
}

diesel::table! {
    notification_reminders (subject_type, subject_id, due_at) {
        subject_type -> Text,
        subject_id -> BigInt,
        due_at -> Timestamp,
        sent_at -> Timestamp,
    }
}

diesel::table! {
    notifications (id) {
        id -> BigInt,
        user_id -> BigInt,
        kind -> Text,
        target_type -> Text,
        target_id -> BigInt,
        urgent -> Bool,
        subject -> Text,
        detail -> Nullable<Text>,
        event_id -> Nullable<BigInt>,
        read_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        in_inbox -> Bool,
        change_seq -> BigInt,
        change_xid -> BigInt,
    }
}

diesel::table! {
    outbox_events (id) {
        id -> BigInt,
        event_type -> Text,
        aggregate_type -> Text,
        aggregate_id -> Text,
        payload -> Text,
        request_id -> Nullable<Text>,
        created_at -> Timestamp,
        published_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    known_sign_ins (account_key, client_ip) {
        account_key -> Text,
        client_ip -> Text,
        last_success_at -> Timestamp,
    }
}

diesel::table! {
    bulletins (id) {
        id -> BigInt,
        origin -> Text,
        origin_kim_id -> Nullable<BigInt>,
        title -> Text,
        body -> Text,
        search_key -> Text,
        category -> Text,
        priority -> Text,
        audience_scope -> Text,
        audience_codes -> Text,
        audience_kim_ids -> Text,
        status -> Text,
        published_at -> Nullable<Timestamp>,
        expires_at -> Nullable<Timestamp>,
        author_id -> Nullable<BigInt>,
        kims_addressed -> Nullable<Integer>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        version -> BigInt,
        change_seq -> BigInt,
        change_xid -> BigInt,
        cap -> Nullable<Text>,
        alert_source_id -> Nullable<BigInt>,
        cap_identifier -> Nullable<Text>,
    }
}

diesel::table! {
    alert_sources (id) {
        id -> BigInt,
        url -> Text,
        poll_interval_secs -> Integer,
        min_severity -> Text,
        mode -> Text,
        active -> Bool,
        created_by -> Nullable<BigInt>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        version -> BigInt,
        next_poll_at -> Timestamp,
        lease_token -> Nullable<Text>,
        lease_until -> Nullable<Timestamp>,
        etag -> Nullable<Text>,
        last_modified -> Nullable<Text>,
    }
}

diesel::table! {
    alert_polls (id) {
        id -> BigInt,
        source_id -> BigInt,
        polled_at -> Timestamp,
        http_status -> Nullable<Integer>,
        outcome -> Text,
        error -> Nullable<Text>,
        alerts_seen -> Integer,
        created -> Integer,
        updated -> Integer,
        archived -> Integer,
        skipped -> Integer,
        items -> Text,
    }
}

diesel::table! {
    incoming_alerts (sender, identifier) {
        sender -> Text,
        identifier -> Text,
        source_id -> Nullable<BigInt>,
        bulletin_id -> Nullable<BigInt>,
        received_at -> Timestamp,
    }
}

diesel::table! {
    bulletin_alerts (bulletin_id, seq) {
        bulletin_id -> BigInt,
        seq -> Integer,
        msg_type -> Text,
        sent_at -> Timestamp,
    }
}

diesel::table! {
    attachments (id) {
        id -> BigInt,
        owner_type -> Text,
        owner_id -> BigInt,
        file_name -> Text,
        content_type -> Text,
        size_bytes -> BigInt,
        sha256 -> Text,
        storage_key -> Text,
        uploaded_by -> Nullable<BigInt>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    sync_counters (name) {
        name -> Text,
        value -> BigInt,
    }
}

diesel::table! {
    bulletin_audience (id) {
        id -> BigInt,
        bulletin_id -> BigInt,
        region_code -> Nullable<Text>,
        kim_id -> Nullable<BigInt>,
    }
}

diesel::table! {
    bulletin_seen_by (id) {
        id -> BigInt,
        bulletin_id -> BigInt,
        audience_key -> Text,
    }
}

diesel::table! {
    bulletin_acknowledgements (id) {
        id -> BigInt,
        bulletin_id -> BigInt,
        kim_id -> BigInt,
        reach -> Integer,
        note -> Nullable<Text>,
        acknowledged_by -> Nullable<BigInt>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    holidays (day) {
        day -> Date,
        name -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    reports (id) {
        id -> BigInt,
        tracking_code -> Text,
        kind -> Text,
        category_code -> Text,
        title -> Text,
        description -> Text,
        search_key -> Text,
        kelurahan_code -> Text,
        kecamatan_code -> Text,
        address -> Nullable<Text>,
        latitude -> Nullable<Double>,
        longitude -> Nullable<Double>,
        reporter_name -> Nullable<Text>,
        reporter_contact -> Nullable<Text>,
        privacy -> Text,
        kim_id -> Nullable<BigInt>,
        submitted_by -> Nullable<BigInt>,
        submitted_by_client -> Nullable<BigInt>,
        channel -> Text,
        status -> Text,
        assigned_agency -> Nullable<Text>,
        verify_due_at -> Timestamp,
        response_due_at -> Nullable<Timestamp>,
        verified_at -> Nullable<Timestamp>,
        first_response_at -> Nullable<Timestamp>,
        resolved_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        version -> BigInt,
        change_seq -> BigInt,
        change_xid -> BigInt,
    }
}

diesel::table! {
    report_feedback (id) {
        id -> BigInt,
        report_id -> BigInt,
        respondent -> Text,
        satisfied -> Bool,
        comment -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    report_escalations (report_id, due_at) {
        report_id -> BigInt,
        due_at -> Timestamp,
        escalated_at -> Timestamp,
    }
}

diesel::table! {
    report_timeline (id) {
        id -> BigInt,
        report_id -> BigInt,
        entry_type -> Text,
        visibility -> Text,
        from_status -> Nullable<Text>,
        to_status -> Nullable<Text>,
        body -> Nullable<Text>,
        assigned_agency -> Nullable<Text>,
        author_id -> Nullable<BigInt>,
        author_client_id -> Nullable<BigInt>,
        created_at -> Timestamp,
        author_side -> Text,
    }
}

diesel::joinable!(users -> kims (kim_id));
diesel::joinable!(region_boundaries -> regions (code));
diesel::joinable!(kim_members -> kims (kim_id));
diesel::joinable!(kim_status_changes -> kims (kim_id));
diesel::joinable!(refresh_tokens -> users (user_id));
diesel::joinable!(bulletin_audience -> bulletins (bulletin_id));
diesel::joinable!(bulletin_seen_by -> bulletins (bulletin_id));
diesel::joinable!(bulletin_acknowledgements -> bulletins (bulletin_id));
diesel::joinable!(bulletin_acknowledgements -> kims (kim_id));
diesel::joinable!(report_timeline -> reports (report_id));

diesel::table! {
    webhook_subscriptions (id) {
        id -> BigInt,
        url -> Text,
        description -> Nullable<Text>,
        events -> Text,
        secret -> Text,
        previous_secret -> Nullable<Text>,
        previous_secret_expires_at -> Nullable<Timestamp>,
        status -> Text,
        created_by -> Nullable<BigInt>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        version -> BigInt,
    }
}

diesel::table! {
    webhook_deliveries (id) {
        id -> BigInt,
        subscription_id -> BigInt,
        event_id -> BigInt,
        event_type -> Text,
        aggregate_type -> Text,
        aggregate_id -> Text,
        status -> Text,
        attempt_count -> Integer,
        next_attempt_at -> Timestamp,
        retry_until -> Timestamp,
        lease_token -> Nullable<Text>,
        lease_until -> Nullable<Timestamp>,
        created_at -> Timestamp,
        finished_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    webhook_attempts (id) {
        id -> BigInt,
        delivery_id -> BigInt,
        attempted_at -> Timestamp,
        response_status -> Nullable<Integer>,
        latency_ms -> BigInt,
        error -> Nullable<Text>,
    }
}

diesel::table! {
    integration_api_keys (id) {
        id -> BigInt,
        client_id -> BigInt,
        key_hash -> Text,
        created_by -> Nullable<BigInt>,
        created_at -> Timestamp,
        last_used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    report_media_urls (report_id) {
        report_id -> BigInt,
        media_url -> Text,
    }
}

diesel::joinable!(integration_api_keys -> integration_clients (client_id));
diesel::joinable!(report_media_urls -> reports (report_id));
diesel::joinable!(webhook_deliveries -> webhook_subscriptions (subscription_id));
diesel::joinable!(webhook_attempts -> webhook_deliveries (delivery_id));
diesel::joinable!(notification_preferences -> users (user_id));
diesel::joinable!(notifications -> users (user_id));
diesel::joinable!(push_subscriptions -> users (user_id));
diesel::joinable!(report_subscriptions -> reports (report_id));
diesel::joinable!(mail_outbox -> report_subscriptions (subscription_id));
diesel::joinable!(push_deliveries -> push_subscriptions (subscription_id));
diesel::joinable!(push_deliveries -> notifications (notification_id));
diesel::joinable!(report_escalations -> reports (report_id));
diesel::joinable!(report_feedback -> reports (report_id));
diesel::joinable!(webhook_deliveries -> outbox_events (event_id));

diesel::table! {
    attachment_variants (attachment_id, variant) {
        attachment_id -> BigInt,
        variant -> Text,
        content_type -> Text,
        width -> Integer,
        height -> Integer,
        size_bytes -> BigInt,
        sha256 -> Text,
    }
}

diesel::joinable!(attachment_variants -> attachments (attachment_id));

diesel::table! {
    resumable_uploads (id) {
        id -> Text,
        owner -> Text,
        length -> BigInt,
        received -> BigInt,
        file_name -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
    }
}

diesel::table! {
    resumable_upload_chunks (upload_id, start_offset) {
        upload_id -> Text,
        start_offset -> BigInt,
        size_bytes -> BigInt,
        storage_key -> Text,
    }
}

diesel::joinable!(resumable_upload_chunks -> resumable_uploads (upload_id));

diesel::joinable!(alert_polls -> alert_sources (source_id));
diesel::joinable!(incoming_alerts -> bulletins (bulletin_id));

diesel::allow_tables_to_appear_in_same_query!(
    regions,
    alert_sources,
    alert_polls,
    incoming_alerts,
    bulletin_alerts,
    region_boundaries,
    report_categories,
    kims,
    registration_counters,
    kim_status_changes,
    kim_members,
    users,
    refresh_tokens,
    integration_clients,
    login_failures,
    audit_log,
    idempotency_keys,
    notification_preferences,
    push_deliveries,
    push_subscriptions,
    report_subscriptions,
    mail_outbox,
    notification_reminders,
    notifications,
    outbox_events,
    known_sign_ins,
    bulletins,
    bulletin_audience,
    bulletin_seen_by,
    bulletin_acknowledgements,
    sync_counters,
    attachments,
    attachment_variants,
    resumable_uploads,
    resumable_upload_chunks,
    holidays,
    reports,
    report_escalations,
    report_feedback,
    report_timeline,
    webhook_subscriptions,
    webhook_deliveries,
    webhook_attempts,
    integration_api_keys,
    report_media_urls,
    mentoring_sessions,
    mentoring_session_audience,
    mentoring_participants,
    kim_activities,
    consultations,
    consultation_audience,
    consultation_responses,
);

diesel::table! {
    mentoring_sessions (id) {
        id -> BigInt,
        title -> Text,
        kind -> Text,
        topic -> Text,
        starts_at -> Timestamp,
        ends_at -> Timestamp,
        location -> Text,
        audience_scope -> Text,
        audience_codes -> Text,
        audience_kim_ids -> Text,
        capacity -> Integer,
        nominated -> Integer,
        status -> Text,
        created_by -> Nullable<BigInt>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        version -> BigInt,
    }
}

diesel::table! {
    mentoring_session_audience (id) {
        id -> BigInt,
        session_id -> BigInt,
        region_code -> Nullable<Text>,
        kim_id -> Nullable<BigInt>,
    }
}

diesel::table! {
    mentoring_participants (id) {
        id -> BigInt,
        session_id -> BigInt,
        kim_id -> BigInt,
        member_id -> BigInt,
        nominated_by -> Nullable<BigInt>,
        nominated_at -> Timestamp,
        attended -> Nullable<Bool>,
        attendance_recorded_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    kim_activities (id) {
        id -> BigInt,
        kim_id -> BigInt,
        held_on -> Date,
        kind -> Text,
        title -> Text,
        description -> Nullable<Text>,
        location -> Nullable<Text>,
        participants -> Integer,
        reach -> Integer,
        bulletin_id -> Nullable<BigInt>,
        created_by -> Nullable<BigInt>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        version -> BigInt,
    }
}

diesel::table! {
    consultations (id) {
        id -> BigInt,
        title -> Text,
        summary -> Text,
        questions -> Text,
        audience_scope -> Text,
        audience_codes -> Text,
        audience_kim_ids -> Text,
        opens_at -> Timestamp,
        closes_at -> Timestamp,
        status -> Text,
        government_response -> Nullable<Text>,
        kims_addressed -> Nullable<Integer>,
        created_by -> Nullable<BigInt>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        version -> BigInt,
    }
}

diesel::table! {
    consultation_audience (id) {
        id -> BigInt,
        consultation_id -> BigInt,
        region_code -> Nullable<Text>,
        kim_id -> Nullable<BigInt>,
    }
}

diesel::table! {
    consultation_responses (id) {
        id -> BigInt,
        consultation_id -> BigInt,
        kim_id -> BigInt,
        answers -> Text,
        citizens_consulted -> Integer,
        submitted_by -> Nullable<BigInt>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        version -> BigInt,
    }
}

diesel::joinable!(consultation_audience -> consultations (consultation_id));
diesel::joinable!(consultation_responses -> consultations (consultation_id));
diesel::joinable!(consultation_responses -> kims (kim_id));
diesel::joinable!(kim_activities -> kims (kim_id));
diesel::joinable!(mentoring_session_audience -> mentoring_sessions (session_id));
diesel::joinable!(mentoring_participants -> mentoring_sessions (session_id));
diesel::joinable!(mentoring_participants -> kim_members (member_id));
