//! The tenant's users as the authentication-methods reports see them (§6.1 `userRegistrationDetails`,
//! §6.2, §6.4): which methods each registered and what that makes them capable of.
//!
//! User `i` is a pure function of (seed, `i`), generated on demand: a tenant of a million users
//! is served page by page without being held in memory, and aggregates stream over the users
//! once ([`RegistrationTotals`]). Correlations follow how Entra derives the flags:
//! `isMfaRegistered` ⇔ an MFA-capable method is registered; `isMfaCapable` ⇒ registered and
//! allowed by policy; `isPasswordlessCapable` ⇒ a passwordless method (FIDO2, passkey, Windows
//! Hello for Business, Authenticator phone sign-in); `isSsprCapable` ⇔ registered and enabled.
//! About 3% of members are admins, and some admins have no MFA, which is what an exporter
//! should surface. About 0.4% of user slots are soft-deleted: they are never listed (§6.1).
//!
//! The model has no disabled accounts, so "users with `accountEnabled` true" (§6.4) and
//! "accounts excluding blocked ones" (§6.2) are all listed users.

use crate::rng::Rng;
use crate::time::UtcTime;

/// Random stream of a user's registration state.
const STREAM_USER: u64 = 0x5250_0101;
/// Random stream of a user's names and id.
const STREAM_USER_NAME: u64 = 0x5250_0102;
/// Random stream of the tenant-wide user constants (id mask, name permutation).
const STREAM_USER_TENANT: u64 = 0x5250_0103;

/// Share of user slots that are soft-deleted.
const DELETED_SHARE: f64 = 0.004;
/// Share of live users who are guests.
const GUEST_SHARE: f64 = 0.07;
/// Share of members holding an admin role.
const ADMIN_SHARE: f64 = 0.03;
/// Share of admins whose role is privileged (§6.2's `privilegedAdmin` list).
const PRIVILEGED_ADMIN_SHARE: f64 = 0.7;
/// Share of admins who registered no MFA method.
const ADMIN_WITHOUT_MFA_SHARE: f64 = 0.15;

/// A value of `methodsRegistered` (§6.1, an open string set), with what it counts for.
#[derive(Clone, Copy, Debug)]
pub struct MethodInfo {
    /// The string Graph lists.
    pub name: &'static str,
    /// Counts for MFA registration.
    pub mfa: bool,
    /// A passwordless method.
    pub passwordless: bool,
    /// Usable for self-service password reset.
    pub sspr: bool,
}

/// The `methodsRegistered` values the model produces, in listing order (append only).
pub const METHODS: [MethodInfo; 16] = [
    MethodInfo {
        name: "microsoftAuthenticatorPush",
        mfa: true,
        passwordless: false,
        sspr: true,
    },
    MethodInfo {
        name: "microsoftAuthenticatorPasswordless",
        mfa: true,
        passwordless: true,
        sspr: false,
    },
    MethodInfo {
        name: "passKeyDeviceBound",
        mfa: true,
        passwordless: true,
        sspr: false,
    },
    MethodInfo {
        name: "passKeyDeviceBoundAuthenticator",
        mfa: true,
        passwordless: true,
        sspr: false,
    },
    MethodInfo {
        name: "passKeyDeviceBoundWindowsHello",
        mfa: true,
        passwordless: true,
        sspr: false,
    },
    MethodInfo {
        name: "fido2",
        mfa: true,
        passwordless: true,
        sspr: false,
    },
    MethodInfo {
        name: "windowsHelloForBusiness",
        mfa: true,
        passwordless: true,
        sspr: false,
    },
    MethodInfo {
        name: "macOsSecureEnclaveKey",
        mfa: true,
        passwordless: true,
        sspr: false,
    },
    MethodInfo {
        name: "softwareOneTimePasscode",
        mfa: true,
        passwordless: false,
        sspr: true,
    },
    MethodInfo {
        name: "hardwareOneTimePasscode",
        mfa: true,
        passwordless: false,
        sspr: false,
    },
    MethodInfo {
        name: "mobilePhone",
        mfa: true,
        passwordless: false,
        sspr: true,
    },
    MethodInfo {
        name: "alternateMobilePhone",
        mfa: true,
        passwordless: false,
        sspr: true,
    },
    MethodInfo {
        name: "officePhone",
        mfa: true,
        passwordless: false,
        sspr: true,
    },
    MethodInfo {
        name: "email",
        mfa: false,
        passwordless: false,
        sspr: true,
    },
    MethodInfo {
        name: "securityQuestion",
        mfa: false,
        passwordless: false,
        sspr: true,
    },
    MethodInfo {
        name: "temporaryAccessPass",
        mfa: false,
        passwordless: false,
        sspr: false,
    },
];

/// Index of a method in [`METHODS`].
const fn bit(i: usize) -> u32 {
    1 << i
}
/// Bits of [`METHODS`] entries, by name.
const PUSH: u32 = bit(0);
/// See [`PUSH`].
const PHONE_SIGN_IN: u32 = bit(1);
/// See [`PUSH`].
const PASSKEY: u32 = bit(2);
/// See [`PUSH`].
const PASSKEY_AUTHENTICATOR: u32 = bit(3);
/// See [`PUSH`].
const PASSKEY_WINDOWS_HELLO: u32 = bit(4);
/// See [`PUSH`].
const FIDO2: u32 = bit(5);
/// See [`PUSH`].
const WINDOWS_HELLO: u32 = bit(6);
/// See [`PUSH`].
const MACOS_KEY: u32 = bit(7);
/// See [`PUSH`].
const SOFTWARE_OTP: u32 = bit(8);
/// See [`PUSH`].
const HARDWARE_OTP: u32 = bit(9);
/// See [`PUSH`].
const MOBILE_PHONE: u32 = bit(10);
/// See [`PUSH`].
const ALTERNATE_PHONE: u32 = bit(11);
/// See [`PUSH`].
const OFFICE_PHONE: u32 = bit(12);
/// See [`PUSH`].
const EMAIL: u32 = bit(13);
/// See [`PUSH`].
const SECURITY_QUESTION: u32 = bit(14);
/// See [`PUSH`].
const TAP: u32 = bit(15);

/// Bits of the methods with the given property.
const fn mask_of(mfa: bool, passwordless: bool, sspr: bool) -> u32 {
    let mut m = 0;
    let mut i = 0;
    while i < METHODS.len() {
        let info = METHODS[i];
        if (mfa && info.mfa) || (passwordless && info.passwordless) || (sspr && info.sspr) {
            m |= 1 << i;
        }
        i += 1;
    }
    m
}
/// Methods that count for MFA registration.
const MFA_METHODS: u32 = mask_of(true, false, false);
/// Passwordless methods.
const PASSWORDLESS_METHODS: u32 = mask_of(false, true, false);
/// Methods usable for SSPR.
const SSPR_METHODS: u32 = mask_of(false, false, true);

/// `systemPreferredAuthenticationMethods` / `userPreferredMethodForSecondaryAuthentication`
/// members (§6.1, without `unknownFutureValue`).
pub const SECONDARY_METHODS: [&str; 7] = [
    "push",
    "oath",
    "voiceMobile",
    "voiceAlternateMobile",
    "voiceOffice",
    "sms",
    "none",
];

/// `defaultMfaMethod` members (§6.1, beta; without `unknownFutureValue`).
pub const DEFAULT_MFA_METHODS: [&str; 6] = [
    "none",
    "mobilePhone",
    "alternateMobilePhone",
    "officePhone",
    "microsoftAuthenticatorPush",
    "softwareOneTimePasscode",
];

/// `userType` (§6.1 `signInUserType`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UserType {
    /// `member`.
    Member,
    /// `guest`.
    Guest,
}

impl UserType {
    /// The Graph enum member.
    pub fn graph_name(self) -> &'static str {
        match self {
            Self::Member => "member",
            Self::Guest => "guest",
        }
    }
}

/// What kind of role a user holds, for §6.2's `includedUserRoles`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RoleKind {
    /// One of the privileged roles §6.2 lists (Global, Security, Conditional Access, …).
    PrivilegedAdmin,
    /// Another admin role.
    Admin,
    /// No admin role.
    User,
}

/// The registration state of one user: flags and methods, no strings (fast to aggregate).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserCore {
    /// Index of the user slot.
    pub index: u64,
    /// Soft-deleted: never listed.
    pub deleted: bool,
    /// Member or guest.
    pub user_type: UserType,
    /// Admin role kind.
    pub role: RoleKind,
    /// Bits of [`METHODS`] registered.
    pub methods: u32,
    /// `isMfaCapable`.
    pub mfa_capable: bool,
    /// `isPasswordlessCapable`.
    pub passwordless_capable: bool,
    /// `isSsprEnabled`.
    pub sspr_enabled: bool,
    /// `isSystemPreferredAuthenticationMethodEnabled` (nullable).
    pub system_preferred_enabled: Option<bool>,
    /// `systemPreferredAuthenticationMethods` (nullable; may be empty).
    pub system_preferred: Option<Vec<&'static str>>,
    /// `userPreferredMethodForSecondaryAuthentication` (nullable; `""` as in the doc example).
    pub user_preferred: Option<&'static str>,
    /// `defaultMfaMethod` (beta, nullable).
    pub default_mfa_method: Option<&'static str>,
}

impl UserCore {
    /// `isAdmin`.
    pub fn is_admin(&self) -> bool {
        self.role != RoleKind::User
    }

    /// `isMfaRegistered`.
    pub fn mfa_registered(&self) -> bool {
        self.methods & MFA_METHODS != 0
    }

    /// `isSsprRegistered`.
    pub fn sspr_registered(&self) -> bool {
        self.methods & SSPR_METHODS != 0
    }

    /// `isSsprCapable`.
    pub fn sspr_capable(&self) -> bool {
        self.sspr_registered() && self.sspr_enabled
    }

    /// `methodsRegistered`, in [`METHODS`] order.
    pub fn methods_registered(&self) -> impl Iterator<Item = &'static str> + '_ {
        METHODS
            .iter()
            .enumerate()
            .filter(|(i, _)| self.methods & bit(*i) != 0)
            .map(|(_, m)| m.name)
    }

    /// Whether `name` is among `methodsRegistered`.
    pub fn has_method(&self, name: &str) -> bool {
        self.methods_registered().any(|m| m == name)
    }
}

/// One `userRegistrationDetails` row (§6.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegistrationUser {
    /// The registration state.
    pub core: UserCore,
    /// `id`: the user's object id.
    pub id: String,
    /// `userPrincipalName`.
    pub user_principal_name: String,
    /// `userDisplayName`.
    pub user_display_name: String,
    /// `lastUpdatedDateTime`.
    pub last_updated_date_time: UtcTime,
}

/// Given names.
const FIRST_NAMES: [&str; 64] = [
    "Lena", "Jonas", "Amara", "Mateo", "Sofia", "Noah", "Priya", "Liam", "Yuki", "Omar", "Chloe",
    "Lucas", "Ines", "Ethan", "Mia", "Arjun", "Hannah", "Diego", "Elif", "Felix", "Grace", "Hugo",
    "Isla", "Jamal", "Keiko", "Leon", "Maya", "Nikolai", "Olivia", "Pablo", "Quinn", "Rosa",
    "Samir", "Tara", "Umar", "Vera", "Wei", "Ximena", "Yara", "Zoe", "Aisha", "Bruno", "Clara",
    "Dmitri", "Emma", "Farah", "Gabriel", "Helena", "Ivan", "Julia", "Kenji", "Laila", "Marco",
    "Nora", "Oscar", "Paula", "Rahul", "Sara", "Tomas", "Uma", "Victor", "Wanda", "Xavier",
    "Yusuf",
];

/// Family names.
const LAST_NAMES: [&str; 64] = [
    "Hoffmann",
    "Okafor",
    "Garcia",
    "Rossi",
    "Nakamura",
    "Smith",
    "Patel",
    "Kowalski",
    "Silva",
    "Haddad",
    "Martin",
    "Novak",
    "Jensen",
    "Dubois",
    "Khan",
    "Schmidt",
    "Nguyen",
    "Lopez",
    "Yilmaz",
    "Andersson",
    "Brown",
    "Costa",
    "Fischer",
    "Ivanova",
    "Johansson",
    "Kim",
    "Larsen",
    "Moreau",
    "Nielsen",
    "Ortiz",
    "Petrov",
    "Quinn",
    "Romero",
    "Sato",
    "Tanaka",
    "Ueda",
    "Varga",
    "Wagner",
    "Xu",
    "Young",
    "Zimmermann",
    "Ahmed",
    "Becker",
    "Chen",
    "Dias",
    "Evans",
    "Ferreira",
    "Gomez",
    "Horvat",
    "Ito",
    "Jovanovic",
    "Keller",
    "Lindqvist",
    "Mendes",
    "Nowak",
    "Olsen",
    "Park",
    "Rahman",
    "Schneider",
    "Torres",
    "Weber",
    "Wright",
    "Zhang",
    "Murphy",
];

/// Home domains of guests.
const GUEST_DOMAINS: [&str; 6] = [
    "fabrikam.com",
    "adatum.com",
    "northwindtraders.com",
    "tailspintoys.com",
    "gmail.com",
    "outlook.com",
];

/// The tenant-wide constants of the user model.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserModel {
    /// Seed of the tenant.
    seed: u64,
    /// Number of user slots (`SimConfig::users`), soft-deleted ones included.
    pub slots: u64,
    /// Verified domain for user principal names.
    domain: String,
    /// The tenant's "now": `lastUpdatedDateTime` falls within the day and a half before it.
    now: UtcTime,
    /// XORed into the index to form the last 48 bits of a user id (so ids map back to users).
    id_mask: u64,
    /// Multiplier (odd) of the name permutation.
    name_mul: u64,
    /// Offset of the name permutation.
    name_add: u64,
}

/// Names per permutation round (`FIRST_NAMES × LAST_NAMES`).
const NAME_COMBINATIONS: u64 = (FIRST_NAMES.len() * LAST_NAMES.len()) as u64;
/// Mask of the index part of a user id.
const ID_INDEX_BITS: u64 = 0xffff_ffff_ffff;

impl UserModel {
    /// The user model of a tenant.
    pub fn new(seed: u64, slots: u64, domain: &str, now: UtcTime) -> Self {
        let mut rng = Rng::derive(seed, STREAM_USER_TENANT, 0);
        Self {
            seed,
            slots,
            domain: domain.to_owned(),
            now,
            id_mask: rng.next_u64() & ID_INDEX_BITS,
            name_mul: rng.next_u64() | 1,
            name_add: rng.next_u64(),
        }
    }

    /// The registration state of slot `index`.
    pub fn core(&self, index: u64) -> UserCore {
        let mut rng = Rng::derive(self.seed, STREAM_USER, index);
        let deleted = rng.chance(DELETED_SHARE);
        let user_type = if rng.chance(GUEST_SHARE) {
            UserType::Guest
        } else {
            UserType::Member
        };
        let role = if user_type == UserType::Member && rng.chance(ADMIN_SHARE) {
            if rng.chance(PRIVILEGED_ADMIN_SHARE) {
                RoleKind::PrivilegedAdmin
            } else {
                RoleKind::Admin
            }
        } else {
            RoleKind::User
        };
        let methods = draw_methods(&mut rng, user_type, role);
        let mfa_allowed = rng.chance(if user_type == UserType::Guest {
            0.9
        } else {
            0.97
        });
        let passwordless_allowed = rng.chance(0.95);
        // Admins are always in scope of SSPR (the admin policy); guests never are.
        let sspr_enabled = match (user_type, role) {
            (UserType::Guest, _) => false,
            (_, RoleKind::User) => rng.chance(0.85),
            _ => true,
        };
        let system_preferred_enabled = rng
            .weighted(&[(Some(true), 85), (Some(false), 10), (None, 5)])
            .flatten();
        let mfa_registered = methods & MFA_METHODS != 0;
        let (system_preferred, user_preferred) = preferences(&mut rng, methods);
        let default_mfa_method = if rng.chance(0.05) {
            None
        } else {
            Some(match user_preferred {
                Some("push") => "microsoftAuthenticatorPush",
                Some("oath") => "softwareOneTimePasscode",
                Some("sms" | "voiceMobile") => "mobilePhone",
                Some("voiceAlternateMobile") => "alternateMobilePhone",
                Some("voiceOffice") => "officePhone",
                _ => "none",
            })
        };
        UserCore {
            index,
            deleted,
            user_type,
            role,
            methods,
            mfa_capable: mfa_registered && mfa_allowed,
            passwordless_capable: methods & PASSWORDLESS_METHODS != 0 && passwordless_allowed,
            sspr_enabled,
            system_preferred_enabled,
            system_preferred,
            user_preferred,
            default_mfa_method,
        }
    }

    /// The full row of slot `index`, soft-deleted or not.
    pub fn user(&self, index: u64) -> RegistrationUser {
        self.user_from(self.core(index))
    }

    /// The full row of a user whose registration state is already known.
    pub fn user_from(&self, core: UserCore) -> RegistrationUser {
        let index = core.index;
        let mut rng = Rng::derive(self.seed, STREAM_USER_NAME, index);
        let hi = (rng.next_u64() & 0xffff_ffff_ffff_0fff) | 0x0000_0000_0000_4000;
        let variant = (rng.next_u64() & 0x3fff) | 0x8000;
        let id = format!(
            "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
            hi >> 32,
            (hi >> 16) & 0xffff,
            hi & 0xffff,
            variant,
            (index ^ self.id_mask) & ID_INDEX_BITS
        );
        let combination = (index % NAME_COMBINATIONS)
            .wrapping_mul(self.name_mul)
            .wrapping_add(self.name_add)
            % NAME_COMBINATIONS;
        let round = index / NAME_COMBINATIONS;
        let first = FIRST_NAMES[(combination % FIRST_NAMES.len() as u64) as usize];
        let last = LAST_NAMES[(combination / FIRST_NAMES.len() as u64) as usize % LAST_NAMES.len()];
        let number = if round == 0 {
            String::new()
        } else {
            (round + 1).to_string()
        };
        let local = format!("{first}.{last}{number}").to_ascii_lowercase();
        let user_principal_name = match core.user_type {
            UserType::Member => format!("{local}@{}", self.domain),
            UserType::Guest => {
                let home = rng.pick(&GUEST_DOMAINS).copied().unwrap_or("fabrikam.com");
                format!("{local}_{home}#EXT#@{}", self.domain)
            }
        };
        let age = rng.range(600, 36 * 3_600);
        let last_updated_date_time = UtcTime::from_unix(
            self.now.unix_seconds() - age,
            rng.range(1, 9_999_999) as u32,
        );
        RegistrationUser {
            core,
            id,
            user_principal_name,
            user_display_name: format!("{first} {last}"),
            last_updated_date_time,
        }
    }

    /// The slot a user id belongs to, if it is one of this tenant's (live or deleted) users.
    pub fn index_of(&self, id: &str) -> Option<u64> {
        let tail = id.get(24..)?;
        let index = u64::from_str_radix(tail, 16).ok()? ^ self.id_mask;
        (index < self.slots && self.user(index).id.eq_ignore_ascii_case(id)).then_some(index)
    }
}

/// `bits` with probability `p`, else nothing.
fn maybe(rng: &mut Rng, p: f64, bits: u32) -> u32 {
    if rng.chance(p) {
        bits
    } else {
        0
    }
}

/// Draws the methods a user registered.
fn draw_methods(rng: &mut Rng, user_type: UserType, role: RoleKind) -> u32 {
    let mut m = 0;
    if user_type == UserType::Guest {
        if rng.chance(0.65) {
            return 0;
        }
        m |= maybe(rng, 0.6, EMAIL);
        m |= maybe(rng, 0.3, PUSH);
        m |= maybe(rng, 0.3, MOBILE_PHONE);
        m |= maybe(rng, 0.05, SOFTWARE_OTP);
        return if m == 0 { EMAIL } else { m };
    }
    if role != RoleKind::User && rng.chance(ADMIN_WITHOUT_MFA_SHARE) {
        // An admin who never registered MFA: at most SSPR-only methods.
        m |= maybe(rng, 0.5, EMAIL);
        m |= maybe(rng, 0.1, SECURITY_QUESTION);
        return m;
    }
    if role == RoleKind::User && rng.chance(0.08) {
        // Never registered anything but perhaps the e-mail address SSPR pre-fills.
        return maybe(rng, 0.3, EMAIL);
    }
    let admin = role != RoleKind::User;
    m |= maybe(rng, 0.72, PUSH);
    if m & PUSH != 0 {
        m |= maybe(rng, 0.1, PHONE_SIGN_IN);
    }
    m |= maybe(rng, 0.55, MOBILE_PHONE);
    m |= maybe(rng, 0.2, SOFTWARE_OTP);
    m |= maybe(rng, 0.01, HARDWARE_OTP);
    m |= maybe(rng, 0.04, OFFICE_PHONE);
    m |= maybe(rng, 0.04, ALTERNATE_PHONE);
    m |= maybe(rng, 0.35, EMAIL);
    m |= maybe(rng, 0.03, SECURITY_QUESTION);
    m |= maybe(rng, 0.18, WINDOWS_HELLO);
    m |= maybe(rng, if admin { 0.25 } else { 0.07 }, PASSKEY_AUTHENTICATOR);
    m |= maybe(rng, if admin { 0.1 } else { 0.03 }, PASSKEY);
    m |= maybe(rng, 0.02, PASSKEY_WINDOWS_HELLO);
    m |= maybe(rng, if admin { 0.3 } else { 0.03 }, FIDO2);
    m |= maybe(rng, 0.005, MACOS_KEY);
    m |= maybe(rng, 0.01, TAP);
    if m & MFA_METHODS == 0 {
        m |= MOBILE_PHONE;
    }
    m
}

/// The system- and user-preferred secondary methods that go with `methods`.
fn preferences(rng: &mut Rng, methods: u32) -> (Option<Vec<&'static str>>, Option<&'static str>) {
    let phone = if rng.chance(0.8) {
        "sms"
    } else {
        "voiceMobile"
    };
    let strongest = if methods & PUSH != 0 {
        Some("push")
    } else if methods & (SOFTWARE_OTP | HARDWARE_OTP) != 0 {
        Some("oath")
    } else if methods & MOBILE_PHONE != 0 {
        Some(phone)
    } else if methods & ALTERNATE_PHONE != 0 {
        Some("voiceAlternateMobile")
    } else if methods & OFFICE_PHONE != 0 {
        Some("voiceOffice")
    } else {
        None
    };
    let system = match strongest {
        _ if rng.chance(0.03) => None,
        Some("push") if methods & (SOFTWARE_OTP | HARDWARE_OTP) != 0 && rng.chance(0.1) => {
            Some(vec!["push", "oath"])
        }
        Some(m) => Some(vec![m]),
        None if methods & MFA_METHODS != 0 => Some(vec!["none"]),
        None => rng
            .weighted(&[(0u8, 5), (1, 3), (2, 2)])
            .map(|k| match k {
                0 => Some(Vec::new()),
                1 => None,
                _ => Some(vec!["none"]),
            })
            .unwrap_or(None),
    };
    let user = match strongest {
        Some(m) => {
            let registered: Vec<&'static str> = [
                (PUSH, "push"),
                (SOFTWARE_OTP | HARDWARE_OTP, "oath"),
                (MOBILE_PHONE, phone),
                (ALTERNATE_PHONE, "voiceAlternateMobile"),
                (OFFICE_PHONE, "voiceOffice"),
            ]
            .iter()
            .filter(|(bits, _)| methods & bits != 0)
            .map(|(_, name)| *name)
            .collect();
            match rng.weighted(&[(0u8, 70), (1, 15), (2, 10), (3, 5)]) {
                Some(0) => Some(m),
                Some(1) => rng.pick(&registered).copied().or(Some(m)),
                Some(2) => Some(""),
                _ => None,
            }
        }
        None => rng
            .weighted(&[(Some("none"), 5), (Some(""), 3), (None, 2)])
            .flatten(),
    };
    (system, user)
}

/// Feature flags counted by the reports, in the order of [`RegistrationTotals::features`].
pub const FEATURES: [&str; 7] = [
    "mfa_capable",
    "mfa_registered",
    "passwordless_capable",
    "sspr_capable",
    "sspr_enabled",
    "sspr_registered",
    "system_preferred_enabled",
];

/// Counts of one (user type, role kind) group, for §6.2's summaries.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GroupCounts {
    /// Users in the group.
    pub users: u64,
    /// Users per entry of [`FEATURES`].
    pub features: [u64; 7],
    /// Users per entry of [`METHODS`].
    pub methods: [u64; 16],
}

/// Everything the aggregate reports and the ground truth need, from one pass over the users.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RegistrationTotals {
    /// Listed (not soft-deleted) users.
    pub users: u64,
    /// Users per [`METHODS`] entry.
    pub methods: [u64; 16],
    /// Users per [`FEATURES`] entry.
    pub features: [u64; 7],
    /// Users with `isAdmin` true.
    pub admins: u64,
    /// Admins whose `isMfaCapable` is false.
    pub admins_without_mfa: u64,
    /// Users per [`DEFAULT_MFA_METHODS`] entry, then those with a null `defaultMfaMethod`.
    pub default_mfa: [u64; 7],
    /// Users per [`SECONDARY_METHODS`] element of `systemPreferredAuthenticationMethods`
    /// (`none` also counts null and empty lists).
    pub system_preferred: [u64; 7],
    /// Users per [`SECONDARY_METHODS`] value of `userPreferredMethodForSecondaryAuthentication`
    /// (`none` also counts null and `""`).
    pub user_preferred: [u64; 7],
    /// Counts per `[member, guest]` × `[privilegedAdmin, admin, user]`.
    pub groups: [[GroupCounts; 3]; 2],
}

/// Index of `name` in `list`.
fn position(list: &[&str], name: &str) -> Option<usize> {
    list.iter().position(|m| *m == name)
}

impl RegistrationTotals {
    /// Streams over the users of `model` (one at a time, nothing kept).
    pub fn compute(model: &UserModel) -> Self {
        let mut t = Self::default();
        let none = SECONDARY_METHODS.len() - 1;
        for index in 0..model.slots {
            let u = model.core(index);
            if u.deleted {
                continue;
            }
            t.users += 1;
            let features = [
                u.mfa_capable,
                u.mfa_registered(),
                u.passwordless_capable,
                u.sspr_capable(),
                u.sspr_enabled,
                u.sspr_registered(),
                u.system_preferred_enabled == Some(true),
            ];
            let group = &mut t.groups[usize::from(u.user_type == UserType::Guest)][match u.role {
                RoleKind::PrivilegedAdmin => 0,
                RoleKind::Admin => 1,
                RoleKind::User => 2,
            }];
            group.users += 1;
            for (i, on) in features.iter().enumerate() {
                if *on {
                    t.features[i] += 1;
                    group.features[i] += 1;
                }
            }
            for i in 0..METHODS.len() {
                if u.methods & bit(i) != 0 {
                    t.methods[i] += 1;
                    group.methods[i] += 1;
                }
            }
            if u.is_admin() {
                t.admins += 1;
                if !u.mfa_capable {
                    t.admins_without_mfa += 1;
                }
            }
            let default = u
                .default_mfa_method
                .and_then(|m| position(&DEFAULT_MFA_METHODS, m))
                .unwrap_or(DEFAULT_MFA_METHODS.len());
            t.default_mfa[default] += 1;
            match u.system_preferred.as_deref() {
                None | Some([]) => t.system_preferred[none] += 1,
                Some(list) => {
                    for m in list {
                        t.system_preferred[position(&SECONDARY_METHODS, m).unwrap_or(none)] += 1;
                    }
                }
            }
            let preferred = u
                .user_preferred
                .and_then(|m| position(&SECONDARY_METHODS, m))
                .unwrap_or(none);
            t.user_preferred[preferred] += 1;
        }
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model(slots: u64) -> UserModel {
        UserModel::new(
            9,
            slots,
            "contoso.onmicrosoft.com",
            UtcTime::from_unix(1_748_936_472, 0),
        )
    }

    #[test]
    fn users_are_stable_unique_and_correlated() {
        let m = model(20_000);
        let mut upns = std::collections::HashSet::new();
        let mut ids = std::collections::HashSet::new();
        for i in 0..20_000 {
            let u = m.user(i);
            assert_eq!(u, m.user(i));
            assert_eq!(m.index_of(&u.id), Some(i));
            assert!(
                upns.insert(u.user_principal_name.clone()),
                "{}",
                u.user_principal_name
            );
            assert!(ids.insert(u.id.clone()));
            let c = &u.core;
            assert_eq!(c.mfa_registered(), c.methods & MFA_METHODS != 0);
            assert!(!c.mfa_capable || c.mfa_registered());
            assert!(!c.passwordless_capable || c.methods & PASSWORDLESS_METHODS != 0);
            assert!(!c.sspr_capable() || (c.sspr_registered() && c.sspr_enabled));
            if c.user_type == UserType::Guest {
                assert!(u.user_principal_name.contains("#EXT#@"));
                assert!(!c.is_admin());
            }
        }
        assert_eq!(m.index_of("00000000-0000-4000-8000-000000000000"), None);
        let t = RegistrationTotals::compute(&m);
        assert!(t.users < 20_000 && t.users > 19_800, "{}", t.users);
        let admin_share = t.admins as f64 / t.users as f64;
        assert!((0.015..0.045).contains(&admin_share), "{admin_share}");
        assert!(t.admins_without_mfa > 0 && t.admins_without_mfa < t.admins);
        assert!(t.features[0] <= t.features[1]);
        assert!(t.features[3] <= t.features[4].min(t.features[5]));
        // Every value of the vocabularies occurs, nulls and "" included.
        assert!(t.methods.iter().all(|n| *n > 0), "{:?}", t.methods);
        assert!(t.default_mfa.iter().all(|n| *n > 0), "{:?}", t.default_mfa);
        assert!(t.system_preferred.iter().all(|n| *n > 0));
        assert!(t.user_preferred.iter().all(|n| *n > 0));
        let group_users: u64 = t.groups.iter().flatten().map(|g| g.users).sum();
        assert_eq!(group_users, t.users);
    }
}
