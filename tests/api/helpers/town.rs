//! One town for the tests that need KIMs, their accounts and a government officer:
//! three active KIMs (A and B in kelurahan 1001 and 1002 of Metro Pusat, 18.72.01; C
//! in Metro Barat, 18.72.02), a kim_member and a kim_admin account in each, and a
//! gov_officer beside the bootstrap gov_admin.

use super::{TestApp, TestUser};

pub struct Town {
    pub admin: TestUser,
    pub officer: TestUser,
    pub kim_a: i64,
    pub kim_b: i64,
    pub kim_c: i64,
    pub member_a: TestUser,
    pub member_b: TestUser,
    pub member_c: TestUser,
    pub board_a: TestUser,
    pub board_b: TestUser,
    pub board_c: TestUser,
}

pub async fn town(app: &TestApp) -> Town {
    let admin = app.bootstrap_admin().await;
    let kim_a = app
        .create_kim_at("KIM Alpha", "18.72.01.1001", "active")
        .await;
    let kim_b = app
        .create_kim_at("KIM Beta", "18.72.01.1002", "active")
        .await;
    let kim_c = app
        .create_kim_at("KIM Gamma", "18.72.02.1001", "active")
        .await;
    Town {
        officer: app.user(&admin, "gov_officer", None).await,
        member_a: app.user(&admin, "kim_member", Some(kim_a)).await,
        member_b: app.user(&admin, "kim_member", Some(kim_b)).await,
        member_c: app.user(&admin, "kim_member", Some(kim_c)).await,
        board_a: app.user(&admin, "kim_admin", Some(kim_a)).await,
        board_b: app.user(&admin, "kim_admin", Some(kim_b)).await,
        board_c: app.user(&admin, "kim_admin", Some(kim_c)).await,
        admin,
        kim_a,
        kim_b,
        kim_c,
    }
}
