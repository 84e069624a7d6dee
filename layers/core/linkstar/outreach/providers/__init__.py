"""Provider gateways: SES (email), SNS (SMS), the WhatsApp Business Cloud API."""
