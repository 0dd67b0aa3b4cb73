//! Access tokens stop working when what they say about their holder stops being true,
//! not when they expire.

use serde_json::json;

use crate::helpers::{TestApp, on_each_backend, problem, spawn_instance};

async fn status_of(app: &TestApp, path: &str, token: &str) -> u16 {
    app.get_as(path, token).await.status().as_u16()
}

#[tokio::test]
async fn disabling_or_changing_an_account_ends_its_access_tokens_everywhere() {
    on_each_backend(async |app| {
        // An instance that does not cache the check sees the change at its next request.
        let other = spawn_instance(&app, |config| config.auth_recheck_secs = 0).await;
        let admin = app.bootstrap_admin().await;
        let kim = app.create_kim("KIM Cabut").await;
        let board = app.user(&admin, "kim_admin", Some(kim)).await;
        let officer = app.user(&admin, "gov_officer", None).await;
        let members = format!("/api/v1/kims/{kim}/members");
        assert_eq!(
            status_of(&app, &members, &board.session.access_token).await,
            200
        );
        assert_eq!(
            status_of(&other, &members, &board.session.access_token).await,
            200
        );

        let disable = app
            .patch_as(
                &format!("/api/v1/users/{}", board.id),
                &admin.session.access_token,
                &json!({"disabled": true}),
            )
            .await;
        assert_eq!(disable.status().as_u16(), 200);
        for server in [&app, &other] {
            let refused = server.get_as(&members, &board.session.access_token).await;
            assert_eq!(problem(refused, 401).await["code"], "invalid_token");
        }

        // A new role ends the tokens that carry the old one.
        assert_eq!(
            status_of(&app, "/api/v1/me", &officer.session.access_token).await,
            200
        );
        let demote = app
            .patch_as(
                &format!("/api/v1/users/{}", officer.id),
                &admin.session.access_token,
                &json!({"role": "kim_member", "kim_id": kim}),
            )
            .await;
        assert_eq!(demote.status().as_u16(), 200);
        assert_eq!(
            status_of(&other, "/api/v1/me", &officer.session.access_token).await,
            401
        );

        // A change that says nothing about access (display name) ends nothing.
        let rename = app
            .patch_as(
                &format!("/api/v1/users/{}", admin.id),
                &admin.session.access_token,
                &json!({"display_name": "Admin Diskominfo"}),
            )
            .await;
        assert_eq!(rename.status().as_u16(), 200);
        assert_eq!(
            status_of(&app, "/api/v1/me", &admin.session.access_token).await,
            200
        );
    })
    .await;
}

#[tokio::test]
async fn logout_ends_the_sessions_access_tokens_but_not_others() {
    on_each_backend(async |app| {
        let other = spawn_instance(&app, |config| config.auth_recheck_secs = 0).await;
        let admin = app.bootstrap_admin().await;
        let second_sign_in = app
            .session(
                crate::helpers::ADMIN_USERNAME,
                crate::helpers::ADMIN_PASSWORD,
            )
            .await;
        let logout = app
            .send(
                reqwest::Method::POST,
                "/api/v1/auth/logout",
                Some(&admin.session.access_token),
                None,
            )
            .await;
        assert_eq!(logout.status().as_u16(), 204);
        for server in [&app, &other] {
            assert_eq!(
                status_of(server, "/api/v1/me", &admin.session.access_token).await,
                401
            );
            assert_eq!(
                status_of(server, "/api/v1/me", &second_sign_in.access_token).await,
                200,
                "the other sign-in goes on"
            );
        }
    })
    .await;
}

#[tokio::test]
async fn disabling_a_client_or_narrowing_its_scopes_ends_its_tokens() {
    on_each_backend(async |app| {
        let other = spawn_instance(&app, |config| config.auth_recheck_secs = 0).await;
        let admin = app.bootstrap_admin().await;
        let (client_id, secret, id) = app
            .integration_client(&admin, &["kims:read", "members:read"])
            .await;
        let token = app.client_token(&client_id, &secret).await;
        assert_eq!(status_of(&other, "/api/v1/kims", &token).await, 200);
        let narrow = app
            .patch_as(
                &format!("/api/v1/integration-clients/{id}"),
                &admin.session.access_token,
                &json!({"scopes": ["kims:read"]}),
            )
            .await;
        assert_eq!(narrow.status().as_u16(), 200);
        assert_eq!(status_of(&other, "/api/v1/kims", &token).await, 401);
        assert_eq!(status_of(&app, "/api/v1/kims", &token).await, 401);

        let token = app.client_token(&client_id, &secret).await;
        assert_eq!(status_of(&app, "/api/v1/kims", &token).await, 200);
        let disable = app
            .patch_as(
                &format!("/api/v1/integration-clients/{id}"),
                &admin.session.access_token,
                &json!({"disabled": true}),
            )
            .await;
        assert_eq!(disable.status().as_u16(), 200);
        assert_eq!(status_of(&app, "/api/v1/kims", &token).await, 401);
        assert_eq!(status_of(&other, "/api/v1/kims", &token).await, 401);
    })
    .await;
}

#[tokio::test]
async fn a_reused_refresh_token_ends_the_sign_ins_access_tokens() {
    on_each_backend(async |app| {
        let admin = app.bootstrap_admin().await;
        let first_refresh = admin.session.refresh_token.clone().expect("refresh token");
        let rotated = app
            .token_request(&[
                ("grant_type", "refresh_token"),
                ("refresh_token", &first_refresh),
            ])
            .await;
        assert_eq!(rotated.status().as_u16(), 200);
        let rotated = crate::helpers::session_of(rotated).await;
        assert_eq!(
            status_of(&app, "/api/v1/me", &rotated.access_token).await,
            200
        );
        // The spent token again: someone else holds a copy; the whole sign-in ends.
        let reused = app
            .token_request(&[
                ("grant_type", "refresh_token"),
                ("refresh_token", &first_refresh),
            ])
            .await;
        assert_eq!(reused.status().as_u16(), 400);
        assert_eq!(
            status_of(&app, "/api/v1/me", &rotated.access_token).await,
            401
        );
        assert_eq!(
            status_of(&app, "/api/v1/me", &admin.session.access_token).await,
            401
        );
    })
    .await;
}
