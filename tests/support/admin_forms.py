"""What the admin's connection form posts, built from a connection (blank secrets keep the stored ones)."""


def connection_form_data(conn, **changes):
    data = {
        "reseller": str(conn.reseller_id),
        "name": conn.name,
        "provider": conn.provider,
        "default_department": str(conn.default_department_id),
        "active": "on",
        "phone_number_id": conn.phone_number_id,
        "business_account_id": "",
        "display_phone": "",
        "access_token": "",
        "app_secret": "",
        "verify_token": "",
        "instance_name": conn.instance_name,
        "api_key": "",
        "api_base_url": conn.api_base_url,
    }
    data.update(changes)
    return data
