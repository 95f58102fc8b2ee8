"""Client code that more than one scenario runs (as text: scenarios run in
the zenml venv, see `conftest.ZenmlClient.run`)."""

#: A one-step pipeline, and what a run template needs beyond a run on the
#: default stack: a stack of remote components, a build of it recorded as a
#: remote builder would, and a deployment of a real run's configuration
#: with that build (0.66.0's client has no other way to attach a build to a
#: deployment without running on a remote stack). Expects `p = params`,
#: with the pipeline's name in `p["pipeline"]`.
REMOTE_TEMPLATE = """
from zenml import pipeline, step
from zenml.models import BuildItem, ComponentRequest, PipelineBuildRequest, PipelineDeploymentRequest


@step
def greet(name: str) -> str:
    return f"hello {name}"


@pipeline(name=p["pipeline"], enable_cache=False)
def greeting(name: str = "world"):
    greet(name)


def component(client, name, type_, flavor, configuration):
    return client.zen_store.create_stack_component(ComponentRequest(
        name=name, type=type_, flavor=flavor, configuration=configuration,
        user=client.active_user.id, workspace=client.active_workspace.id,
    ))


def build_for(client, stack_id, pipeline_id, image, is_local=False):
    return client.zen_store.create_build(PipelineBuildRequest(
        user=client.active_user.id, workspace=client.active_workspace.id,
        stack=stack_id, pipeline=pipeline_id, is_local=is_local, contains_code=True,
        images={"orchestrator": BuildItem(image=image, contains_code=True)},
    ))


def deployment_with(client, source, stack_id, build_id):
    return client.zen_store.create_deployment(PipelineDeploymentRequest(
        user=client.active_user.id, workspace=client.active_workspace.id,
        stack=stack_id, pipeline=source.pipeline.id, build=build_id,
        run_name_template=source.run_name_template,
        pipeline_configuration=source.pipeline_configuration,
        step_configurations=source.step_configurations,
        client_environment=source.client_environment,
        client_version=source.client_version, server_version=source.server_version,
        pipeline_version_hash=source.pipeline_version_hash, pipeline_spec=source.pipeline_spec,
    ))
"""
