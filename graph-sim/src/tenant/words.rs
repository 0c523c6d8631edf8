//! Word lists the generator builds realistic names from. Changing them changes every
//! generated tenant, so append rather than edit.

/// What an app registration is for.
pub const SYSTEMS: &[&str] = &[
    "Payroll",
    "HR Portal",
    "Billing",
    "Inventory",
    "CRM",
    "Data Lake",
    "Analytics",
    "Backup",
    "Build Agent",
    "Terraform",
    "GitHub Actions",
    "Jenkins",
    "Monitoring",
    "Grafana",
    "ServiceNow",
    "Salesforce Sync",
    "Intranet",
    "Mobile App",
    "Warehouse",
    "Ticketing",
    "Reporting",
    "Identity Sync",
    "Mail Relay",
    "Expense",
    "Onboarding",
    "Search",
    "Storage Sweeper",
    "Audit Export",
    "Cost Management",
    "Kubernetes",
    "Power BI Embedded",
    "SharePoint Migration",
    "Teams Bot",
    "Customer Portal",
    "Partner API",
    "Logistics",
];

/// What kind of component it is.
pub const COMPONENTS: &[&str] = &[
    "API",
    "Web",
    "Daemon",
    "Connector",
    "Worker",
    "Client",
    "Service",
    "Automation",
    "Sync",
    "Exporter",
];

/// Deployment environments, written in a few common styles.
pub const ENVIRONMENTS: &[&str] = &[" (prod)", " - Dev", " Test", "-staging", " UAT", "", "", ""];

/// Display names people give client secrets.
pub const SECRET_NAMES: &[&str] = &[
    "ci-secret",
    "prod-secret",
    "Terraform managed",
    "github-actions",
    "client secret",
    "rotation",
    "key vault",
    "temp - delete me",
    "DevOps pipeline",
    "backup secret",
];

/// Weekday abbreviations for the portal's default secret description.
pub const WEEKDAYS: &[&str] = &["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];

/// Month abbreviations for the portal's default secret description.
pub const MONTHS: &[&str] = &[
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// Microsoft first-party service principals present in every tenant: (appId, displayName).
/// The app ids are the well-known public ones.
pub const FIRST_PARTY: &[(&str, &str)] = &[
    ("00000003-0000-0000-c000-000000000000", "Microsoft Graph"),
    (
        "00000002-0000-0ff1-ce00-000000000000",
        "Office 365 Exchange Online",
    ),
    (
        "00000003-0000-0ff1-ce00-000000000000",
        "Office 365 SharePoint Online",
    ),
    ("c44b4083-3bb0-49c1-b47d-974e53cbdf3c", "Azure Portal"),
    ("1fec8e78-bce4-4aaf-ab1b-5451cc387264", "Microsoft Teams"),
    (
        "797f4846-ba00-4fd7-ba43-dac1f8f63013",
        "Windows Azure Service Management API",
    ),
    ("00000007-0000-0000-c000-000000000000", "Dataverse"),
    ("0000000a-0000-0000-c000-000000000000", "Microsoft Intune"),
];

/// The tenant that owns Microsoft's first-party applications.
pub const MICROSOFT_TENANT_ID: &str = "f8cdef31-a31e-4b4a-93e4-5f571e91255a";

/// SaaS apps commonly added from the gallery as SAML enterprise apps.
pub const GALLERY_APPS: &[&str] = &[
    "Salesforce",
    "ServiceNow",
    "Workday",
    "Zoom",
    "Slack",
    "Atlassian Cloud",
    "AWS IAM Identity Center",
    "Google Cloud / G Suite Connector by Microsoft",
    "Box",
    "DocuSign",
    "Adobe Identity Management",
    "Cisco Webex",
    "Dropbox Business",
    "GitHub Enterprise Cloud - Organization",
    "SAP Cloud Identity Services",
    "Tableau Cloud",
];

/// Third-party multi-tenant apps users or admins consented to.
pub const THIRD_PARTY_APPS: &[&str] = &[
    "Graph Explorer",
    "Microsoft Azure CLI",
    "Postman",
    "Calendly",
    "Miro",
    "Trello",
    "Lucidchart",
    "Grammarly",
    "HubSpot",
    "Zapier",
];

/// Azure resources that carry managed identities.
pub const MANAGED_IDENTITY_RESOURCES: &[&str] = &[
    "func-invoice",
    "aks-agentpool",
    "vm-build",
    "app-portal",
    "logic-sync",
    "adf-ingest",
    "aca-exporter",
    "vmss-batch",
];
