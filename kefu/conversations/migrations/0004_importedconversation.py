# The message-history import moved from the metrics app. The table stays where it is
# (metrics_importedconversation, rows and all): this migration only tells Django's state
# that the model now lives here; metrics 0002 removes it from the metrics app's state.

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0001_initial'),
        ('conversations', '0003_event_kinds'),
        # The table is created there.
        ('metrics', '0001_initial'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='ImportedConversation',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('external_id', models.CharField(max_length=200)),
                        ('conversation', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='conversations.conversation')),
                        ('shop', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='accounts.shop')),
                    ],
                    options={
                        'db_table': 'metrics_importedconversation',
                        'constraints': [models.UniqueConstraint(fields=('shop', 'external_id'), name='imported_conv_once')],
                    },
                ),
            ],
            database_operations=[],
        ),
    ]
