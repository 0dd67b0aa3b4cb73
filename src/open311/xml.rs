//! The XML shapes of Open311's answers: a list is an element per item inside a
//! plural element (`<services><service>…`), where JSON has an array.

use quick_xml::SeError;
use serde::Serialize;

use crate::domain::text::xml_safe;

use super::requests::{PostedRequest, ServiceRequest, TokenAnswer};
use super::{Attribute, AttributeValue, Discovery, Open311ErrorItem, Service, ServiceDefinition};

pub const CONTENT_TYPE: &str = "text/xml; charset=utf-8";

fn document<T: Serialize>(root: &str, value: &T) -> Result<String, SeError> {
    let body = quick_xml::se::to_string_with_root(root, value)?;
    Ok(xml_safe(format!(
        r#"<?xml version="1.0" encoding="utf-8"?>{body}"#
    )))
}

pub fn errors(errors: Vec<Open311ErrorItem>) -> Result<String, SeError> {
    #[derive(Serialize)]
    struct Errors {
        error: Vec<Open311ErrorItem>,
    }
    document("errors", &Errors { error: errors })
}

pub fn discovery(discovery: &Discovery) -> Result<String, SeError> {
    #[derive(Serialize)]
    struct Formats<'a> {
        format: &'a [&'static str],
    }
    #[derive(Serialize)]
    struct Endpoint<'a> {
        specification: &'a str,
        url: &'a str,
        changeset: &'a str,
        #[serde(rename = "type")]
        endpoint_type: &'a str,
        formats: Formats<'a>,
    }
    #[derive(Serialize)]
    struct Endpoints<'a> {
        endpoint: Vec<Endpoint<'a>>,
    }
    #[derive(Serialize)]
    struct Document<'a> {
        changeset: &'a str,
        contact: &'a str,
        key_service: &'a str,
        endpoints: Endpoints<'a>,
    }
    let endpoints = discovery
        .endpoints
        .iter()
        .map(|endpoint| Endpoint {
            specification: endpoint.specification,
            url: &endpoint.url,
            changeset: endpoint.changeset,
            endpoint_type: endpoint.endpoint_type,
            formats: Formats {
                format: &endpoint.formats,
            },
        })
        .collect();
    document(
        "discovery",
        &Document {
            changeset: discovery.changeset,
            contact: discovery.contact,
            key_service: discovery.key_service,
            endpoints: Endpoints {
                endpoint: endpoints,
            },
        },
    )
}

pub fn services(services: &[Service]) -> Result<String, SeError> {
    #[derive(Serialize)]
    struct Services<'a> {
        service: &'a [Service],
    }
    document("services", &Services { service: services })
}

pub fn definition(definition: &ServiceDefinition) -> Result<String, SeError> {
    #[derive(Serialize)]
    struct Values<'a> {
        value: &'a [AttributeValue],
    }
    #[derive(Serialize)]
    struct XmlAttribute<'a> {
        variable: bool,
        code: &'a str,
        datatype: &'a str,
        required: bool,
        datatype_description: &'a str,
        order: u32,
        description: &'a str,
        values: Values<'a>,
    }
    #[derive(Serialize)]
    struct Attributes<'a> {
        attribute: Vec<XmlAttribute<'a>>,
    }
    #[derive(Serialize)]
    struct Definition<'a> {
        service_code: &'a str,
        attributes: Attributes<'a>,
    }
    let attribute = definition
        .attributes
        .iter()
        .map(|attribute: &Attribute| XmlAttribute {
            variable: attribute.variable,
            code: attribute.code,
            datatype: attribute.datatype,
            required: attribute.required,
            datatype_description: attribute.datatype_description,
            order: attribute.order,
            description: attribute.description,
            values: Values {
                value: &attribute.values,
            },
        })
        .collect();
    document(
        "service_definition",
        &Definition {
            service_code: &definition.service_code,
            attributes: Attributes { attribute },
        },
    )
}

/// `<service_requests><request>…`: the shape of request lists, of a posted request
/// and of a token's request alike.
fn service_requests<T: Serialize>(requests: &[T]) -> Result<String, SeError> {
    #[derive(Serialize)]
    struct Requests<'a, T> {
        request: &'a [T],
    }
    document("service_requests", &Requests { request: requests })
}

pub fn requests(requests: &[ServiceRequest]) -> Result<String, SeError> {
    service_requests(requests)
}

pub fn posted(posted: &[PostedRequest]) -> Result<String, SeError> {
    service_requests(posted)
}

pub fn tokens(tokens: &[TokenAnswer]) -> Result<String, SeError> {
    service_requests(tokens)
}
